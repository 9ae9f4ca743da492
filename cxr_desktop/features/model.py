"""Model > Open model folder…: use another model folder (made on the worker thread); a bad
folder is refused with the reason and the current model stays. Remembered in settings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFileDialog, QWidget

from cxr_desktop.actions import make_action
from cxr_desktop.dialogs.about import model_title
from cxr_desktop.model_factory import model_factory
from cxr_desktop.session import Session
from cxr_desktop.settings import AppSettings
from cxr_desktop.workers.prediction import PredictService


class ModelFeature(QObject):
    """Owns the open-model action; the predict worker loads the folder and answers."""

    factory_changed = Signal(object)  # the new model's factory, for the other workers

    def __init__(self, session: Session, service: PredictService, settings: AppSettings,
                 window: QWidget) -> None:
        super().__init__(window)
        self.session = session
        self.service = service
        self.settings = settings
        self.window = window
        self.open_action = make_action(self, "&Open model folder…", self.choose_folder,
                                       tip="use another model folder (model_card.json and "
                                           "its weights)", icon_name="brain")
        self._pending: Path | None = None
        service.model_switched.connect(self._on_switched)
        service.switch_failed.connect(self._on_failed)

    def choose_folder(self) -> None:
        start = self.settings.model_dir() or (self.session.card.directory
                                              if self.session.card is not None else "")
        folder = QFileDialog.getExistingDirectory(self.window, "Open model folder", str(start))
        if folder:
            self.open_folder(Path(folder))

    def open_folder(self, folder: Path) -> None:
        """Load the model in `folder` on the worker thread."""
        self._pending = Path(folder)
        self.session.show_status(f"Loading the model in {folder}…")
        self.service.switch(model_factory(self._pending))

    def _on_switched(self, card: Any) -> None:
        folder, self._pending = self._pending, None
        if folder is None:
            return
        self.settings.set_model_dir(folder)
        self.factory_changed.emit(model_factory(folder))
        self.session.show_status(f"Using the model {model_title(card)} from {folder}")

    def _on_failed(self, message: str) -> None:
        folder, self._pending = self._pending, None
        current = self.session.card
        keeping = (f"still using {model_title(current)}" if current is not None
                   else "there is still no model")
        self.session.show_error(f"Cannot use the model folder {folder}: {message} ({keeping}).")
