"""Batch scans on a worker thread: the core `scan`, rows streamed out and into the CSV."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

from cxr_desktop.workers.prediction import ModelFactory
from cxr_model.errors import CXRError
from cxr_model.inference.scan import CsvSink, plan_scan, scan, scored_files


class ScanWorker(QObject):
    """Runs scans in its thread with its own model (made by `factory` there, then reused)."""

    started = Signal(int, int)  # files to score, files skipped (already in the CSV)
    row_ready = Signal(dict)
    failed = Signal(str)
    finished = Signal(bool)  # cancelled

    def __init__(self, factory: ModelFactory) -> None:
        super().__init__()
        self.factory = factory
        self.model: Any = None
        self.cancel = threading.Event()

    @Slot(object)
    def set_factory(self, factory: ModelFactory) -> None:
        """Scan with another model from the next scan on."""
        self.factory, self.model = factory, None

    @Slot(object, object, bool)
    def run(self, folder: Path, csv_path: Path, recursive: bool) -> None:
        try:
            if self.model is None:
                self.model = self.factory()
            skip = scored_files(csv_path)
            plan = plan_scan(folder, recursive, skip)
            self.started.emit(len(plan.files) + len(plan.unreadable), plan.skipped)
            sink = CsvSink(csv_path)
            try:
                for row in scan(self.model, plan, cancelled=self.cancel.is_set):
                    sink.add(row)
                    self.row_ready.emit(row)
                    if self.cancel.is_set():
                        break
            finally:
                sink.close()
        except CXRError as exc:
            self.failed.emit(str(exc))
            return
        except Exception as exc:  # noqa: BLE001 - the thread boundary: report, never hang
            self.failed.emit(f"unexpected error: {type(exc).__name__}: {exc}")
            return
        self.finished.emit(self.cancel.is_set())
