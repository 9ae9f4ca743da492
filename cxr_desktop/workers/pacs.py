"""Talking to a PACS on a worker thread: echo, find, retrieve (with progress and cancel) and
send. A node that is down or slow only keeps this thread waiting, never the window."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot

from cxr_desktop.pacs_security import SECRETS
from cxr_desktop.workers.boundary import run_guarded
from cxr_desktop.workers.threads import start_in_thread, stop_thread
from cxr_model.dicom_net.client import Pacs
from cxr_model.dicom_net.node import parse_node
from cxr_model.dicom_net.query import StudyQuery


def pacs_for(settings, address: str) -> Pacs:
    """A node address as seen from our AE title, with the timeout, TLS and credentials of the
    app's settings (the secret from the keyring); ValueError for an address that is not a
    node, a TLS file that is missing or a secret that is not known."""
    security = settings.node_security(address)
    return Pacs(
        parse_node(address),
        aet=settings.our_aet(),
        timeout=settings.pacs_timeout(),
        tls=security.tls(),
        credentials=SECRETS.credentials(address, security),
    )


class PacsWorker(QObject):
    """Runs one network operation at a time in its thread; answers by signal."""

    echoed = Signal(str)  # the node
    found = Signal(object, bool)  # list[StudyMatch], more matched than the limit
    progress = Signal(int)  # instances retrieved so far
    retrieved = Signal(object)  # list[Path]
    sent = Signal(int)
    failed = Signal(str)  # what went wrong, for a person

    def __init__(self) -> None:
        super().__init__()
        self.cancel = threading.Event()

    def _guard(self, action: Callable[[], object]) -> None:
        run_guarded(action, self.failed.emit)

    @Slot(object)
    def echo(self, pacs: Pacs) -> None:
        self._guard(lambda: (pacs.echo(), self.echoed.emit(str(pacs.node))))

    @Slot(object, object)
    def find(self, pacs: Pacs, query: StudyQuery) -> None:
        def action() -> None:
            result = pacs.find(query)
            self.found.emit(result.studies, result.truncated)

        self._guard(action)

    @Slot(object, str, object)
    def retrieve(self, pacs: Pacs, study_uid: str, out_dir: Path) -> None:
        count = [0]

        def landed(_path: Path) -> None:
            count[0] += 1
            self.progress.emit(count[0])

        self._guard(
            lambda: self.retrieved.emit(
                pacs.retrieve(study_uid, out_dir, on_file=landed, cancelled=self.cancel.is_set)
            )
        )

    @Slot(object, object)
    def send(self, pacs: Pacs, datasets: list) -> None:
        self._guard(lambda: self.sent.emit(pacs.send(datasets)))

    @Slot(object, object, object, object, object)
    def send_results(self, pacs: Pacs, card, source: Path, image, prediction) -> None:
        """Build the SR + Secondary Capture of a prediction here, then send them."""
        from cxr_model.dicom_results.write import read_source, result_objects

        self._guard(
            lambda: self.sent.emit(
                pacs.send(result_objects(card, read_source(source), image, prediction))
            )
        )


class PacsService(QObject):
    """GUI-side handle: requests go to the worker's thread by queued signals."""

    _echo = Signal(object)
    _find = Signal(object, object)
    _retrieve = Signal(object, str, object)
    _send = Signal(object, object)
    _send_results = Signal(object, object, object, object, object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.worker = PacsWorker()
        self._echo.connect(self.worker.echo)
        self._find.connect(self.worker.find)
        self._retrieve.connect(self.worker.retrieve)
        self._send.connect(self.worker.send)
        self._send_results.connect(self.worker.send_results)
        self.thread = start_in_thread(self.worker, "cxr-pacs")

    def echo(self, pacs: Pacs) -> None:
        self._echo.emit(pacs)

    def find(self, pacs: Pacs, query: StudyQuery) -> None:
        self._find.emit(pacs, query)

    def retrieve(self, pacs: Pacs, study_uid: str, out_dir: Path) -> None:
        self.worker.cancel.clear()
        self._retrieve.emit(pacs, study_uid, Path(out_dir))

    def cancel(self) -> None:
        self.worker.cancel.set()

    def send(self, pacs: Pacs, datasets: list) -> None:
        self._send.emit(pacs, datasets)

    def send_results(self, pacs: Pacs, card, source: Path, image, prediction) -> None:
        self._send_results.emit(pacs, card, Path(source), image, prediction)

    def shutdown(self) -> None:
        self.worker.cancel.set()
        stop_thread(self.thread)
