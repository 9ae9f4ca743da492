"""Batch scans on a worker thread: the core `scan` of a folder, or the PACS scan of a
query's studies; rows streamed out and into the CSV."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot

from cxr_desktop.workers.boundary import run_guarded
from cxr_desktop.workers.prediction import ModelFactory
from cxr_model.dicom_net.client import Pacs
from cxr_model.dicom_net.instances import PACS_FIELDS, is_final
from cxr_model.dicom_net.query import StudyQuery
from cxr_model.inference.predictor import Model
from cxr_model.inference.scan import CsvSink, plan_scan, read_rows, scan, scored_files
from cxr_model.pacs.scan import PacsScan, finished_studies


class ScanWorker(QObject):
    """Runs scans in its thread with its own model (made by `factory` there, then reused)."""

    started = Signal(int, int)  # files to score, files skipped (already in the CSV)
    row_ready = Signal(dict)
    failed = Signal(str)
    finished = Signal(bool)  # cancelled

    def __init__(self, factory: ModelFactory) -> None:
        super().__init__()
        self.factory = factory
        self.model: Model | None = None
        self.cancel = threading.Event()

    @Slot(object)
    def set_factory(self, factory: ModelFactory) -> None:
        """Scan with another model from the next scan on."""
        self.factory, self.model = factory, None

    def _guarded(self, body: Callable[[], object]) -> None:
        """Run a scan body: `failed` on an error, else `finished` (cancelled or not)."""

        def scan() -> None:
            if self.model is None:
                self.model = self.factory()
            body()

        if run_guarded(scan, self.failed.emit):
            self.finished.emit(self.cancel.is_set())

    def _stream(self, rows, sink: CsvSink) -> None:
        try:
            for row in rows:
                sink.add(row)
                self.row_ready.emit(row)
                if self.cancel.is_set():
                    break
        finally:
            sink.close()

    @Slot(object, object, bool)
    def run(self, folder: Path, csv_path: Path, recursive: bool) -> None:
        def body() -> None:
            plan = plan_scan(folder, recursive, scored_files(csv_path))
            self.started.emit(len(plan.files) + len(plan.unreadable), plan.skipped)
            self._stream(scan(self.model, plan, cancelled=self.cancel.is_set), CsvSink(csv_path))

        self._guarded(body)

    @Slot(object, object, object, object)
    def run_pacs(self, pacs: Pacs, query: StudyQuery, images_dir: Path, csv_path: Path) -> None:
        """Find the query's studies, retrieve them into `images_dir` and score them; rows
        (the PACS scan columns) into the CSV. Resumable like the folder scan."""

        def body() -> None:
            rows = read_rows(csv_path, PACS_FIELDS)
            studies = pacs.find(query).studies
            done = finished_studies(rows, studies)
            todo = [s for s in studies if s.study_uid not in done]
            self.started.emit(sum(s.instances or 1 for s in todo), len(done))
            scanner = PacsScan(
                self.model,
                pacs,
                images_dir=images_dir,
                final_sops={r["sop_uid"] for r in rows if is_final(r)},
            )
            self._stream(
                (
                    row
                    for study in todo
                    if not self.cancel.is_set()
                    for row in scanner.study_rows(study)
                ),
                CsvSink(csv_path, fields=PACS_FIELDS),
            )

        self._guarded(body)
