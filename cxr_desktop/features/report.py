"""The radiology report: the editor, opening and saving .txt files, unsaved-change prompts."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QFileDialog, QMessageBox

from cxr_desktop.actions import make_action
from cxr_desktop.panels.report_editor import ReportEditor
from cxr_desktop.session import Session
from cxr_desktop.settings import AppSettings
from cxr_desktop.workers.reading import OpenedImage
from cxr_model.errors import CXRError

REPORT_FILTER = "Reports (*.txt);;All files (*)"
REPORT_SUFFIXES = (".txt",)


class ReportFeature(QObject):
    """Owns the ReportEditor and the report file actions."""

    loaded = Signal()  # a report file replaced the text

    def __init__(
        self, session: Session, settings: AppSettings, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.session = session
        self.settings = settings
        self.editor = ReportEditor()
        key = QKeySequence.StandardKey
        self.open_action = make_action(self, "Open &report…", self.choose_report, "Ctrl+R")
        self.save_action = make_action(self, "&Save report", self.save_report, key.Save)
        self.save_as_action = make_action(self, "Save report &as…", self.save_report_as, key.SaveAs)
        session.study_changed.connect(self._on_study)

    def report(self) -> str | None:
        """The report for the model: None when blank."""
        return self.editor.report()

    def _on_study(self, study: OpenedImage) -> None:
        self.editor.set_report(study.report, study.report_path)

    def ask_save_changes(self) -> QMessageBox.StandardButton:
        """Ask what to do with an unsaved report (Save/Discard/Cancel). Tests replace this."""
        return QMessageBox.question(
            self.editor.window(),
            "Unsaved report",
            "The report has unsaved changes. Save them?",
            QMessageBox.StandardButton.Save
            | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Save,
        )

    def confirm_discard(self) -> bool:
        """True when it is fine to replace the report (saved, discarded or unchanged)."""
        if not self.editor.is_modified():
            return True
        answer = self.ask_save_changes()
        if answer == QMessageBox.StandardButton.Save:
            return self.save_report()
        return answer == QMessageBox.StandardButton.Discard

    def choose_report(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self.editor.window(), "Open report", self.settings.last_folder("report"), REPORT_FILTER
        )
        if path:
            self.open_report(Path(path))

    def open_report(self, path: Path) -> bool:
        """Load a .txt report into the editor (the prediction then re-runs)."""
        if not self.confirm_discard():
            return False
        try:
            self.editor.load(Path(path))
        except CXRError as exc:
            self.session.show_error(f"Cannot load the report {Path(path).name}: {exc.reason}")
            return False
        self.settings.set_last_folder("report", Path(path).parent)
        self.session.show_status(f"Loaded report {Path(path).name}")
        self.loaded.emit()
        return True

    def save_report(self) -> bool:
        if self.editor.path is None:
            return self.save_report_as()
        return self._save_to(self.editor.path)

    def save_report_as(self) -> bool:
        study = self.session.study
        start = str(
            self.editor.path
            or (study.path.with_suffix(".txt") if study else self.settings.last_folder("report"))
        )
        path, _ = QFileDialog.getSaveFileName(
            self.editor.window(), "Save report", start, REPORT_FILTER
        )
        return bool(path) and self._save_to(Path(path))

    def _save_to(self, path: Path) -> bool:
        try:
            saved = self.editor.save(path)
        except CXRError as exc:
            self.session.show_error(str(exc))
            return False
        self.session.show_status(f"Saved report {saved}")
        return True
