"""The PACS in the app: File > Open from PACS, File > PACS settings (and the cache of retrieved
studies), and "Send result to PACS" under the result panel. All network work runs on the PACS
worker thread, cache housekeeping on a thread of its own."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QStandardPaths, Signal
from PySide6.QtWidgets import QInputDialog, QPushButton, QWidget

from cxr_desktop.actions import make_action
from cxr_desktop.dialogs.pacs_dialog import PacsDialog
from cxr_desktop.dialogs.pacs_settings import PacsSettingsDialog
from cxr_desktop.features.files import FilesFeature
from cxr_desktop.session import Session
from cxr_desktop.settings import AppSettings
from cxr_desktop.study_cache import StudyCache
from cxr_desktop.workers.pacs import PacsService, pacs_for
from cxr_model.imaging.reader import is_dicom_file


def default_cache_dir() -> Path:
    """Where retrieved studies are kept: the user's cache folder (the platform's convention,
    e.g. ~/.cache/… on Linux), `pacs/`."""
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.CacheLocation)
    return Path(base) / "pacs"


class PacsFeature(QObject):
    """Owns the PACS worker, the Open-from-PACS dialog, the send-result button and the cache
    of retrieved studies (aged and trimmed at start and after each retrieve)."""

    cache_measured = Signal(int)  # bytes in the cache, after housekeeping

    def __init__(
        self,
        session: Session,
        settings: AppSettings,
        files: FilesFeature,
        window: QWidget,
        cache_dir: Path | None = None,
    ) -> None:
        super().__init__(window)
        self.session, self.settings, self.files, self.window = session, settings, files, window
        self.cache_dir = cache_dir or default_cache_dir()
        self.service = PacsService(self)
        self.dialog: PacsDialog | None = None
        self.open_action = make_action(
            self,
            "Open from &PACS…",
            self.open_dialog,
            "Ctrl+Shift+O",
            tip="Search a PACS and open a study",
        )
        self.send_button = QPushButton("Send result to PACS…")
        self.send_button.setToolTip(
            "Store the result as a DICOM SR and a Secondary Capture "
            "in the image's study on a PACS node"
        )
        self.send_button.clicked.connect(self.choose_node_and_send)
        self.send_button.setEnabled(False)
        self.sending = False
        session.prediction_changed.connect(self._update_send)
        session.study_changed.connect(self._update_send)
        self.service.worker.sent.connect(self._on_sent)
        self.service.worker.failed.connect(self._on_failed)
        self.service.worker.retrieved.connect(self._on_retrieved)
        self.settings_action = make_action(
            self,
            "PACS se&ttings…",
            self.open_settings,
            tip="Our AE title, the timeout and the cache of retrieved studies",
        )
        self._housekeeper: threading.Thread | None = None
        self._housekeeping_lock = threading.Lock()
        self.tidy()

    @property
    def cache(self) -> StudyCache:
        return StudyCache(self.cache_dir)

    def housekeep(self, job: Callable[[StudyCache], object]) -> threading.Thread:
        """Run `job(cache)` off the GUI thread (one at a time), then emit the cache size."""

        def run() -> None:
            with self._housekeeping_lock:
                cache = self.cache
                try:
                    job(cache)
                    size = cache.size()
                except OSError:
                    size = -1
            self.cache_measured.emit(size)

        self._housekeeper = threading.Thread(target=run, name="cxr-cache", daemon=True)
        self._housekeeper.start()
        return self._housekeeper

    def tidy(self) -> threading.Thread:
        """At start: the cache made private, its studies older than the settings' age
        removed, then the oldest until it is under the limit."""
        return self.housekeep(self._tidy)

    def _tidy(self, cache: StudyCache) -> None:
        if cache.root.is_dir():
            cache.make_private()
            cache.remove_older_than(self.settings.cache_max_age_days())
            cache.trim(self.settings.cache_limit_bytes())

    def _on_retrieved(self, files: list[Path]) -> None:
        keep = None
        if files:
            try:
                keep = Path(files[0]).relative_to(self.cache_dir).parts[0]
            except ValueError:  # retrieved elsewhere (a batch scan's folder)
                return
        limit = self.settings.cache_limit_bytes()
        self.housekeep(lambda cache: cache.trim(limit, keep))

    def open_settings(self) -> PacsSettingsDialog:
        dialog = PacsSettingsDialog(self.settings, str(self.cache_dir), self.window)
        self.cache_measured.connect(dialog.show_size)
        dialog.clear_requested.connect(lambda: self.housekeep(StudyCache.clear))
        dialog.finished.connect(lambda _result: self.cache_measured.disconnect(dialog.show_size))
        dialog.open()
        self.housekeep(lambda cache: None)  # measure
        return dialog

    def open_dialog(self) -> PacsDialog:
        if self.dialog is None:
            self.dialog = PacsDialog(self.settings, self.service, self.cache_dir, self.window)
            self.dialog.open_requested.connect(self.files.open_image)
        self.dialog.show()
        self.dialog.raise_()
        return self.dialog

    def can_send(self) -> bool:
        study, prediction = self.session.study, self.session.prediction
        return (
            study is not None
            and prediction is not None
            and self.session.card is not None
            and is_dicom_file(study.path)
        )

    def _update_send(self, *_args) -> None:
        self.send_button.setEnabled(self.can_send() and not self.sending)
        if self.session.study is not None and not is_dicom_file(self.session.study.path):
            self.send_button.setToolTip("Only a DICOM image has a study to send the result to")

    def choose_node_and_send(self) -> None:
        nodes = self.settings.pacs_nodes()
        if not nodes:
            self.session.show_error("Add a PACS node first (File > Open from PACS, Add…).")
            return
        names = [node["name"] for node in nodes]
        name, ok = QInputDialog.getItem(self.window, "Send result to PACS", "Node", names, 0, False)
        if ok:
            self.send_to(nodes[names.index(name)]["address"])

    def send_to(self, address: str) -> None:
        """Send the SR + SC of the current result to a node (in the background)."""
        if not self.can_send():
            return
        try:
            pacs = pacs_for(self.settings, address)
        except ValueError as exc:
            self.session.show_error(str(exc))
            return
        self.sending = True
        self._update_send()
        study = self.session.study
        self.session.show_status(f"Sending the result of {study.path.name} to {pacs.node}…")
        self.service.send_results(
            pacs, self.session.card, study.path, study.image, self.session.prediction
        )

    def _on_sent(self, count: int) -> None:
        if self.sending:
            self.sending = False
            self.session.show_status(
                f"Result sent: {count} DICOM object(s) (SR + Secondary "
                "Capture) stored in the study."
            )
            self._update_send()

    def _on_failed(self, message: str) -> None:
        if self.sending:
            self.sending = False
            self.session.show_error(f"Sending the result failed: {message}")
            self._update_send()

    def shutdown(self) -> None:
        self.service.shutdown()
        if self._housekeeper is not None:
            self._housekeeper.join(timeout=30)
