"""What the window's features share: the open study, the model and the latest result.

Features change it through its setters; each setter emits one signal, and the features that
care react to it. Messages for the user go out by the `error`/`status` signals, which the
window shows in its message bar and status bar.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from cxr_desktop.workers.reading import OpenedImage
from cxr_model.inference.card import ModelCard
from cxr_model.inference.predictor import Prediction


class Session(QObject):
    """The state of one window."""

    study_changed = Signal(object)  # OpenedImage (the prediction was reset to None)
    model_changed = Signal()  # cards / model_error changed
    prediction_changed = Signal(object)  # Prediction or None
    error = Signal(str)  # a non-blocking error: shown until the next status
    status = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.study: OpenedImage | None = None
        self.cards: list[ModelCard] = []
        self.model_error: str | None = None
        self.prediction: Prediction | None = None

    def set_study(self, study: OpenedImage) -> None:
        """A new study is open; it has no result yet."""
        self.study = study
        self.prediction = None
        self.study_changed.emit(study)

    @property
    def card(self) -> ModelCard | None:
        """The card of the model that answered the current result, else of the first model
        in use; None without a model."""
        answered = self.prediction.model if self.prediction is not None else None
        for card in self.cards:
            if card.label == answered:
                return card
        return self.cards[0] if self.cards else None

    def set_model(self, cards: list[ModelCard] | None, error: str | None = None) -> None:
        """The models in use (their cards), or none with the reason."""
        self.cards, self.model_error = list(cards or []), error
        self.model_changed.emit()

    def set_prediction(self, prediction: Prediction) -> None:
        self.prediction = prediction
        self.prediction_changed.emit(prediction)

    def show_error(self, text: str) -> None:
        self.error.emit(text)

    def show_status(self, text: str) -> None:
        self.status.emit(text)
