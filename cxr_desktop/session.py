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
    model_changed = Signal()  # card / model_error changed
    prediction_changed = Signal(object)  # Prediction or None
    error = Signal(str)  # a non-blocking error: shown until the next status
    status = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.study: OpenedImage | None = None
        self.card: ModelCard | None = None
        self.model_error: str | None = None
        self.prediction: Prediction | None = None

    def set_study(self, study: OpenedImage) -> None:
        """A new study is open; it has no result yet."""
        self.study = study
        self.prediction = None
        self.study_changed.emit(study)

    def set_model(self, card: ModelCard | None, error: str | None = None) -> None:
        """The model in use (its card), or none with the reason."""
        self.card, self.model_error = card, error
        self.model_changed.emit()

    def set_prediction(self, prediction: Prediction) -> None:
        self.prediction = prediction
        self.prediction_changed.emit(prediction)

    def show_error(self, text: str) -> None:
        self.error.emit(text)

    def show_status(self, text: str) -> None:
        self.status.emit(text)
