"""Verdicts on a worker thread: keeping one, looking up an image's, the agreement figures.
A database that another window or `cxr feedback add` holds only keeps this thread waiting."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot

from cxr_desktop.workers.boundary import run_guarded
from cxr_desktop.workers.threads import start_in_thread, stop_thread
from cxr_model.feedback.stats import model_stats
from cxr_model.feedback.store import FeedbackStore, Verdict


class FeedbackWorker(QObject):
    """Opens the verdicts database for each request (its path may change in the settings)."""

    saved = Signal(object)  # Verdict
    found = Signal(str, object)  # subject, Verdict or None
    stats = Signal(object, object)  # list[ModelStats], database path
    failed = Signal(str)

    def __init__(self, db_path: Callable[[], Path]) -> None:
        super().__init__()
        self.db_path = db_path

    def _with_store(
        self,
        action: Callable[[FeedbackStore], None],
        missing: Callable[[Path], None] | None = None,
    ) -> None:
        """Run `action` on the database. With `missing`, a database that does not exist yet
        is not made: `missing(path)` answers instead (a reader has nothing to read)."""

        def run() -> None:
            path = self.db_path()
            if missing is not None and not path.is_file():
                missing(path)
                return
            store = FeedbackStore(path)
            try:
                action(store)
            finally:
                store.close()

        run_guarded(run, lambda why: self.failed.emit(f"verdicts: {why}"))

    @Slot(object)
    def add(self, verdict: Verdict) -> None:
        self._with_store(lambda store: (store.add(verdict), self.saved.emit(verdict)))

    @Slot(str)
    def lookup(self, subject: str) -> None:
        self._with_store(
            lambda store: self.found.emit(subject, store.latest(subject)),
            lambda _path: self.found.emit(subject, None),
        )

    @Slot()
    def figures(self) -> None:
        self._with_store(
            lambda store: self.stats.emit(model_stats(store.current()), store.path),
            lambda path: self.stats.emit([], path),
        )


class FeedbackService(QObject):
    """GUI-side handle of the verdicts worker."""

    _add = Signal(object)
    _lookup = Signal(str)
    _figures = Signal()

    def __init__(self, db_path: Callable[[], Path], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.worker = FeedbackWorker(db_path)
        self._add.connect(self.worker.add)
        self._lookup.connect(self.worker.lookup)
        self._figures.connect(self.worker.figures)
        self.thread = start_in_thread(self.worker, "cxr-feedback")

    def add(self, verdict: Verdict) -> None:
        self._add.emit(verdict)

    def lookup(self, subject: str) -> None:
        self._lookup.emit(subject)

    def figures(self) -> None:
        self._figures.emit()

    def shutdown(self) -> None:
        stop_thread(self.thread)
