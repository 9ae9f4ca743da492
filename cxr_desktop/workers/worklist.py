"""The worklist's workers: one polls a listener folder's worklist (and the verdicts) and
says when it changed or cannot be read; one runs a listener in the app. Neither ever blocks
the window: the database, the model and the network are all touched on their threads."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from cxr_desktop.workers.boundary import run_guarded
from cxr_desktop.workers.prediction import ModelFactory
from cxr_desktop.workers.threads import start_in_thread, stop_thread
from cxr_model.errors import CXRError
from cxr_model.feedback.store import verdicts_by_study
from cxr_model.files import private_folder
from cxr_model.worklist.store import read_worklist

POLL_MS = 1000


class WorklistPoller(QObject):
    """Reads `folder`'s worklist every POLL_MS on its thread: `listed` when the rows or the
    verdicts changed, `unreadable` once per new reason (a deleted folder, a damaged file),
    and `listed` again when it can be read again."""

    listed = Signal(object, object, object)  # folder, list[WorklistRow], {study_uid: Verdict}
    unreadable = Signal(object, str)  # folder, why

    def __init__(self, feedback_db: Callable[[], Path]) -> None:
        super().__init__()
        self.feedback_db = feedback_db
        self.folder: Path | None = None
        self.timer: QTimer | None = None
        self._last: Any = None

    @Slot()
    def begin(self) -> None:
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.poll)
        self.timer.start(POLL_MS)

    @Slot(object)
    def follow(self, folder: Path) -> None:
        self.folder, self._last = Path(folder), None
        self.poll()

    @Slot()
    def poll(self) -> None:
        folder = self.folder
        if folder is None:
            return

        def read() -> None:
            if not folder.is_dir():
                raise CXRError("the folder is missing (deleted, moved or not mounted)", folder)
            rows = read_worklist(folder)
            verdicts = verdicts_by_study(self.feedback_db())
            if (rows, verdicts) != self._last:
                self._last = (rows, verdicts)
                self.listed.emit(folder, rows, verdicts)

        run_guarded(read, lambda why: self._unreadable(folder, why))

    def _unreadable(self, folder: Path, why: str) -> None:
        if why != self._last:  # once per new reason
            self._last = why
            self.unreadable.emit(folder, why)

    @Slot()
    def end(self) -> None:
        if self.timer is not None:
            self.timer.stop()


class ListenerWorker(QObject):
    """Runs a `cxr_model.pacs.listener.Listener` (its own threads) made on this thread
    with a model from `factory`; `stop` scores what was received and closes its files."""

    started = Signal(object, str)  # folder, a line for the user
    stopped = Signal(str)
    failed = Signal(str)
    log = Signal(str)

    def __init__(self, factory: ModelFactory) -> None:
        super().__init__()
        self.factory = factory
        self.listener: Any = None

    @Slot(object)
    def set_factory(self, factory: ModelFactory) -> None:
        self.factory = factory

    @Slot(object, int, str, object)
    def start(self, folder: Path, port: int, aet: str, allow: list[str] | None) -> None:
        from cxr_model.pacs.listener import Listener

        self.stop()

        def begin() -> None:
            private_folder(folder)
            listener = Listener(
                self.factory(), folder, port, aet=aet, allow=allow, log=self.log.emit
            )
            listener.start()
            self.listener = listener

        if not run_guarded(begin, lambda why: self.failed.emit(f"cannot start receiving: {why}")):
            return
        who = ", ".join(allow) if allow else "any node (no allow list)"
        self.started.emit(folder, f"receiving as {aet} on port {port} from {who}")

    @Slot()
    def stop(self) -> None:
        if self.listener is None:
            return
        listener, self.listener = self.listener, None
        run_guarded(
            listener.stop, lambda why: self.failed.emit(f"the listener did not stop cleanly: {why}")
        )
        counts = listener.counts
        self.stopped.emit(
            f"stopped receiving: {counts['received']} instance(s) received, "
            f"{counts['scored']} scored"
        )


class WorklistService(QObject):
    """GUI-side handle of the poller and the listener, each on a thread of its own."""

    _follow = Signal(object)
    _start = Signal(object, int, str, object)
    _stop = Signal()
    _end = Signal()
    _set_factory = Signal(object)

    def __init__(
        self, factory: ModelFactory, feedback_db: Callable[[], Path], parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.poller = WorklistPoller(feedback_db)
        self.listener = ListenerWorker(factory)
        self._follow.connect(self.poller.follow)
        self._end.connect(self.poller.end)
        self._start.connect(self.listener.start)
        self._stop.connect(self.listener.stop)
        self._set_factory.connect(self.listener.set_factory)
        self.poll_thread = start_in_thread(self.poller, "cxr-worklist", self.poller.begin)
        self.listen_thread = start_in_thread(self.listener, "cxr-listener")

    def follow(self, folder: Path) -> None:
        self._follow.emit(Path(folder))

    def start_listener(self, folder: Path, port: int, aet: str, allow: list[str] | None) -> None:
        self._start.emit(Path(folder), port, aet, allow)

    def stop_listener(self) -> None:
        self._stop.emit()

    def set_factory(self, factory: ModelFactory) -> None:
        self._set_factory.emit(factory)

    def shutdown(self) -> None:
        """Stop polling and the listener (it scores what it received), then the threads."""
        self._end.emit()
        self._stop.emit()
        stop_thread(self.poll_thread)
        stop_thread(self.listen_thread)
