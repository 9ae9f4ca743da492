"""The worklist dock: the studies a listener received (the app's own, Worklist > Start
receiving…, or a `cxr listen` folder it follows), abnormal first, live; an abnormal arrival
raises a notification; opening a row opens the study with its scored image shown."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QApplication, QDialog, QFileDialog, QWidget

from cxr_desktop.actions import make_action, make_dock
from cxr_desktop.dialogs.receive_dialog import ReceiveDialog
from cxr_desktop.features.study import StudyFeature
from cxr_desktop.panels.worklist_panel import WorklistPanel
from cxr_desktop.session import Session
from cxr_desktop.settings import AppSettings
from cxr_desktop.workers.prediction import ModelFactory
from cxr_desktop.workers.worklist import WorklistService
from cxr_model.feedback.store import data_dir
from cxr_model.vocabulary import Reading
from cxr_model.worklist.store import WorklistRow


class WorklistFeature(QObject):
    """Owns the worklist dock, its poller and the in-app listener."""

    def __init__(
        self,
        session: Session,
        factory: ModelFactory,
        settings: AppSettings,
        study: StudyFeature,
        window: QWidget,
    ) -> None:
        super().__init__(window)
        self.session, self.settings, self.study, self.window = session, settings, study, window
        self.panel = WorklistPanel()
        self.dock, self.action = make_dock(
            "Worklist",
            "worklistDock",
            self.panel,
            "&Worklist panel",
            "L",
            "the studies received, abnormal first",
            "stack-2",
        )
        self.receive_action = make_action(
            self,
            "Start &receiving…",
            self.choose_receive,
            tip="run a DICOM listener in the app: received studies are scored into the worklist",
        )
        self.stop_action = make_action(self, "Sto&p receiving", self.stop_receiving)
        self.stop_action.setEnabled(False)
        self.follow_action = make_action(
            self,
            "&Follow a folder…",
            self.choose_folder,
            tip="show the worklist of a folder that a separate `cxr listen` writes",
        )
        self.service = WorklistService(factory, settings.feedback_db, self)
        self.service.poller.listed.connect(self._on_listed)
        self.service.poller.unreadable.connect(self._on_unreadable)
        self.service.listener.started.connect(self._on_started)
        self.service.listener.stopped.connect(self._on_stopped)
        self.service.listener.failed.connect(self._on_failed)
        self.service.listener.log.connect(session.show_status)
        self.panel.open_requested.connect(self.open_row)
        self.folder: Path | None = None
        self.readings: dict[str, str] | None = None  # study -> reading, once listed
        last = settings.worklist_folder()
        if last is not None:
            self.follow(last)

    # ------------------------------------------------------------------ following
    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self.window, "Follow a listener folder", str(self.folder or "")
        )
        if folder:
            self.follow(Path(folder))

    def follow(self, folder: Path) -> None:
        """Show `folder`'s worklist from now on, live."""
        self.folder, self.readings = Path(folder), None
        self.settings.set_worklist_folder(self.folder)
        self.panel.show_problem(f"Reading the worklist of {self.folder}…")
        self.service.follow(self.folder)
        self.dock.show()

    def _on_listed(self, folder: Path, rows: list[WorklistRow], verdicts: dict) -> None:
        if folder != self.folder:
            return
        self.panel.show_rows(folder, rows, verdicts)
        known = self.readings
        self.readings = {row.study_uid: row.reading for row in rows}
        if known is None:
            return
        arrived = [
            row
            for row in rows
            if row.reading == Reading.ABNORMAL and known.get(row.study_uid) != Reading.ABNORMAL
        ]
        if arrived:
            text = "Abnormal study received: " + "; ".join(
                f"{row.patient or 'no name'} {row.accession} P(abnormal) {row.probability:.1%}"
                for row in arrived
            )
            self.panel.notify(text)
            self.session.show_status(text)
            QApplication.alert(self.window)

    def _on_unreadable(self, folder: Path, why: str) -> None:
        if folder == self.folder:
            self.panel.show_problem(f"Cannot read the worklist now: {why}. Trying again…")
            self.session.show_status(f"worklist: {why}")

    def open_row(self, row: WorklistRow) -> None:
        """Open the study of a row in the study panel, its scored image in the viewer."""
        if self.folder is None:
            return
        image = self.folder / row.image
        self.study.show_folder(self.folder / row.study_uid, row.study_uid, image=image)

    # ------------------------------------------------------------------ receiving
    def choose_receive(self) -> None:
        dialog = ReceiveDialog(
            self.settings.receive_settings(), data_dir() / "received", self.window
        )
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return
        folder, port, aet, allow = dialog.values()
        self.settings.set_receive_settings(port, aet, ",".join(allow or []), str(folder))
        self.start_receiving(folder, port, aet, allow)

    def start_receiving(self, folder: Path, port: int, aet: str, allow: list[str] | None) -> None:
        """Run a listener on its thread (the model is made there), saving into `folder`."""
        self.receive_action.setEnabled(False)
        self.session.show_status(f"starting the listener on port {port}…")
        self.service.start_listener(Path(folder), port, aet, allow)

    def stop_receiving(self) -> None:
        self.stop_action.setEnabled(False)
        self.service.stop_listener()

    def _on_started(self, folder: Path, line: str) -> None:
        self.stop_action.setEnabled(True)
        self.session.show_status(line)
        self.follow(folder)

    def _on_stopped(self, line: str) -> None:
        self.receive_action.setEnabled(True)
        self.session.show_status(line)

    def _on_failed(self, message: str) -> None:
        self.receive_action.setEnabled(True)
        self.stop_action.setEnabled(False)
        self.session.show_error(message)

    def set_factory(self, factory: ModelFactory) -> None:
        """A listener started from now on scores with this model."""
        self.service.set_factory(factory)

    def shutdown(self) -> None:
        self.service.shutdown()
