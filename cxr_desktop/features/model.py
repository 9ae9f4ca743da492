"""Model > Open model folder… and Full precision (fp32): use another model folder or precision
(made on the worker thread); a bad folder is refused with the reason and the current model
stays. Both are remembered in settings."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFileDialog, QWidget

from cxr_desktop.actions import make_action
from cxr_desktop.dialogs.about import model_title
from cxr_desktop.model_factory import model_factory
from cxr_desktop.session import Session
from cxr_desktop.settings import AppSettings
from cxr_desktop.workers.prediction import PredictService
from cxr_model.inference.card import ModelCard, model_folders, models_dir
from cxr_model.vocabulary import Precision


class ModelFeature(QObject):
    """Owns the open-model action; the predict worker loads the folder and answers."""

    factory_changed = Signal(object)  # the new model's factory, for the other workers

    def __init__(
        self, session: Session, service: PredictService, settings: AppSettings, window: QWidget
    ) -> None:
        super().__init__(window)
        self.session = session
        self.service = service
        self.settings = settings
        self.window = window
        self.open_action = make_action(
            self,
            "&Open model folder…",
            self.choose_folder,
            tip="use another model folder (model_card.json and its weights)",
            icon_name="brain",
        )
        self.fp32_action = make_action(
            self,
            "&Full precision (fp32)",
            self.set_full_precision,
            checkable=True,
            tip="run the model in fp32 instead of int8 (int8 runs only while the model card "
            "says its accuracy gates passed)",
        )
        self.fp32_action.setChecked(settings.precision() == Precision.FP32)
        self._pending: tuple[Path | None, bool] | None = None  # (folder, remember it)
        service.model_switched.connect(self._on_switched)
        service.switch_failed.connect(self._on_failed)

    def choose_folder(self) -> None:
        start = self.settings.model_dir() or (
            self.session.card.directory if self.session.card is not None else ""
        )
        folder = QFileDialog.getExistingDirectory(self.window, "Open model folder", str(start))
        if folder:
            self.open_folder(Path(folder))

    def open_folder(self, folder: Path) -> None:
        """Load the model in `folder` on the worker thread."""
        self._load(Path(folder), remember=True)

    def set_full_precision(self, checked: bool) -> None:
        """Save the precision and reload the model in use at it."""
        self.settings.set_precision(Precision.FP32 if checked else Precision.AUTO)
        self._load(self._folder_in_use(), remember=False)

    def _folder_in_use(self) -> Path | None:
        """The one model folder in use when it was forced (outside the installed models, or
        one of several installed), else None: the installed models (or $CXR_MODEL_DIR) again."""
        cards = self.session.cards
        if len(cards) != 1:
            return None
        installed = models_dir()
        outside = cards[0].directory.parent.resolve() != installed.resolve()
        if outside or (installed.is_dir() and len(model_folders(installed)) > 1):
            return cards[0].directory
        return None

    def _load(self, folder: Path | None, remember: bool) -> None:
        self._pending = (folder, remember)
        self.session.show_status(f"Loading the model in {folder or 'the default folder'}…")
        self.service.switch(model_factory(folder, self.settings.precision()))

    def _on_switched(self, cards: list[ModelCard]) -> None:
        if self._pending is None:
            return
        (folder, remember), self._pending = self._pending, None
        if remember:
            self.settings.set_model_dir(folder)
        self.factory_changed.emit(model_factory(folder, self.settings.precision()))
        where = (
            f"the model {model_title(cards[0])} from {cards[0].directory}"
            if len(cards) == 1
            else f"the models {', '.join(c.short_name for c in cards)} "
            f"from {cards[0].directory.parent}"
        )
        self.session.show_status(
            f"Using {where} at {self.service.precision or 'unknown'} precision"
        )

    def _on_failed(self, message: str) -> None:
        folder = self._pending[0] if self._pending else None
        self._pending = None
        current = self.session.card
        keeping = (
            f"still using {model_title(current)}"
            if current is not None
            else "there is still no model"
        )
        self.session.show_error(
            f"Cannot use the model folder {folder or '(default)'}: {message} ({keeping})."
        )
