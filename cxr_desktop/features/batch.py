"""Batch folder scan (Ctrl+B): one dialog per window, its rows open in the viewer."""

from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QWidget

from cxr_desktop.actions import make_action
from cxr_desktop.dialogs.batch_scan import BatchScanDialog
from cxr_desktop.features.files import FilesFeature
from cxr_desktop.session import Session
from cxr_desktop.settings import AppSettings
from cxr_desktop.workers.prediction import ModelFactory


class BatchFeature(QObject):
    """Owns the batch action and the dialog (made on first use, kept until shutdown)."""

    def __init__(
        self,
        session: Session,
        factory: ModelFactory,
        settings: AppSettings,
        files: FilesFeature,
        window: QWidget,
    ) -> None:
        super().__init__(window)
        self.session = session
        self.factory = factory
        self.settings = settings
        self.files = files
        self.window = window
        self.dialog: BatchScanDialog | None = None
        self.action = make_action(
            self,
            "&Batch folder scan…",
            self.open_dialog,
            "Ctrl+B",
            tip="score every image of a folder into a CSV",
            icon_name="stack-2",
        )

    def open_dialog(self) -> BatchScanDialog:
        if self.dialog is None:
            self.dialog = BatchScanDialog(self.factory, self.settings, self.window)
            self.dialog.open_requested.connect(self.files.open_image)
            if self.session.study is not None:
                self.dialog.folder_edit.setText(str(self.session.study.path.parent))
        self.dialog.show()
        self.dialog.raise_()
        return self.dialog

    def set_factory(self, factory: ModelFactory) -> None:
        """Scan with another model (Model > Open model folder…)."""
        self.factory = factory
        if self.dialog is not None:
            self.dialog.set_factory(factory)

    def shutdown(self) -> None:
        if self.dialog is not None:
            self.dialog.shutdown()
