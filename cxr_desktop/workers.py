"""Worker threads: file reading and model inference, off the GUI thread.

Each worker is a QObject living in its own QThread. Requests go in by queued signals
carrying a request id; answers come back by signal with that id, so the GUI can drop
answers to requests that a newer one has superseded.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot

from cxr_model.errors import CXRError
from cxr_model.imaging.reader import XrayImage, read_image
from cxr_model.inference.predictor import load_model
from cxr_model.inference.scan import read_sibling_report, report_path

ModelFactory = Callable[[], Any]
"""Returns a model-like object (load_model(...) or a test double); called in the worker."""


def model_factory(model_dir: Path | None, precision: str = "auto") -> ModelFactory:
    """Loads the model folder (None: the default one) at `precision` (see AppSettings)."""
    return partial(load_model, model_dir, precision=precision)


@dataclass(frozen=True)
class Study:
    """A file read for display: full-resolution image plus the report found beside it."""

    path: Path
    image: XrayImage
    report: str | None
    report_path: Path | None
    report_error: str | None


def read_study(path: Path) -> Study:
    """Read an image at full resolution and its `x.txt` report if one sits beside it."""
    image = read_image(path)
    try:
        report = read_sibling_report(path)
    except CXRError as exc:
        return Study(path, image, None, None, str(exc))
    return Study(path, image, report, report_path(path) if report is not None else None, None)


def start_in_thread(worker: QObject, name: str) -> QThread:
    """Move `worker` to a new started QThread (deleted when the thread finishes)."""
    thread = QThread()
    thread.setObjectName(name)
    worker.moveToThread(thread)
    thread.finished.connect(worker.deleteLater)
    thread.start()
    return thread


def stop_thread(thread: QThread) -> None:
    """Ask the thread's event loop to quit and wait until it has."""
    if thread.isRunning():
        thread.quit()
        thread.wait()


class ReadWorker(QObject):
    """Reads studies from disk in its thread."""

    read_done = Signal(int, object)  # request id, Study
    read_failed = Signal(int, str, str)  # request id, path, message

    @Slot(int, object)
    def read(self, request_id: int, path: Path) -> None:
        try:
            study = read_study(Path(path))
        except CXRError as exc:
            self.read_failed.emit(request_id, str(path), exc.reason)
        except MemoryError:
            self.read_failed.emit(request_id, str(path), "not enough memory to read the image")
        else:
            self.read_done.emit(request_id, study)


class PredictWorker(QObject):
    """Owns the model (made by `factory` in the worker thread) and runs every prediction.

    `latest` is set from the GUI thread to the newest request id: queued requests older than
    it are skipped without running the model.
    """

    model_ready = Signal(object)  # the model's ModelCard
    model_failed = Signal(str)
    predicted = Signal(int, object)  # request id, Prediction
    predict_failed = Signal(int, str)
    heatmap_ready = Signal(int, str, object)  # request id, target, ndarray (H, W)

    def __init__(self, factory: ModelFactory) -> None:
        super().__init__()
        self.factory = factory
        self.model: Any = None
        self.latest = 0
        self._cache: tuple[Path, Any] | None = None

    @Slot()
    def load(self) -> None:
        try:
            self.model = self.factory()
        except CXRError as exc:
            self.model_failed.emit(str(exc))
        except Exception as exc:  # noqa: BLE001 - thread boundary: report, never hang
            self.model_failed.emit(f"the model could not be loaded ({type(exc).__name__}: {exc})")
        else:
            self.model_ready.emit(self.model.card)

    def _model_input(self, path: Path) -> Any:
        """The image read and preprocessed for the model, cached for re-runs on report edits."""
        if self._cache is None or self._cache[0] != path:
            self._cache = (path, self.model.prepare(self.model.read(path)))
        return self._cache[1]

    @Slot(int, object, object)
    def predict(self, request_id: int, path: Path, report: str | None) -> None:
        if self.model is None or request_id < self.latest:
            return
        try:
            prediction = self.model.predict(self._model_input(Path(path)), report)
        except CXRError as exc:
            self.predict_failed.emit(request_id, str(exc))
        except Exception as exc:  # noqa: BLE001 - thread boundary: report, never hang
            self.predict_failed.emit(request_id, f"unexpected error: {type(exc).__name__}: {exc}")
        else:
            self.predicted.emit(request_id, prediction)

    @Slot(int, object, str)
    def heatmap(self, request_id: int, prediction: Any, target: str) -> None:
        if self.model is None:
            return
        self.heatmap_ready.emit(request_id, target, self.model.heatmap(prediction, target))


class PredictionService(QObject):
    """GUI-side handle of the read and predict workers: hands out ids, drops stale answers."""

    model_ready = Signal(object)
    model_failed = Signal(str)
    study_read = Signal(object)
    read_failed = Signal(str, str)
    predicted = Signal(object)
    predict_failed = Signal(str)
    heatmap_ready = Signal(str, object)
    _read = Signal(int, object)
    _predict = Signal(int, object, object)
    _heatmap = Signal(int, object, str)

    def __init__(self, factory: ModelFactory, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.read_worker = ReadWorker()
        self.predict_worker = PredictWorker(factory)
        self._last_read = 0
        self._last_predict = 0
        self._last_heatmap = (0, 0)  # (heatmap id, prediction id it belongs to)
        self._read.connect(self.read_worker.read)
        self._predict.connect(self.predict_worker.predict)
        self._heatmap.connect(self.predict_worker.heatmap)
        self.read_worker.read_done.connect(self._on_read)
        self.read_worker.read_failed.connect(self._on_read_failed)
        self.predict_worker.model_ready.connect(self.model_ready)
        self.predict_worker.model_failed.connect(self.model_failed)
        self.predict_worker.predicted.connect(self._on_predicted)
        self.predict_worker.predict_failed.connect(self._on_predict_failed)
        self.predict_worker.heatmap_ready.connect(self._on_heatmap)
        self.read_thread = start_in_thread(self.read_worker, "cxr-read")
        self.predict_thread = QThread()
        self.predict_thread.setObjectName("cxr-predict")
        self.predict_worker.moveToThread(self.predict_thread)
        self.predict_thread.started.connect(self.predict_worker.load)
        self.predict_thread.finished.connect(self.predict_worker.deleteLater)
        self.predict_thread.start()

    def read(self, path: Path) -> int:
        """Read a study in the background; only the newest read is answered."""
        self._last_read += 1
        self._read.emit(self._last_read, Path(path))
        return self._last_read

    def predict(self, path: Path, report: str | None) -> int:
        """Queue a prediction; it supersedes every earlier one (their answers are dropped)."""
        self._last_predict += 1
        self.predict_worker.latest = self._last_predict
        self._predict.emit(self._last_predict, Path(path), report)
        return self._last_predict

    def heatmap(self, prediction: Any, target: str) -> int:
        """Queue a heatmap of the latest prediction; a newer prediction makes it stale."""
        heat_id = self._last_heatmap[0] + 1
        self._last_heatmap = (heat_id, self._last_predict)
        self._heatmap.emit(heat_id, prediction, target)
        return heat_id

    def _on_read(self, request_id: int, study: Study) -> None:
        if request_id == self._last_read:
            self.study_read.emit(study)

    def _on_read_failed(self, request_id: int, path: str, message: str) -> None:
        if request_id == self._last_read:
            self.read_failed.emit(path, message)

    def _on_predicted(self, request_id: int, prediction: Any) -> None:
        if request_id == self._last_predict:
            self.predicted.emit(prediction)

    def _on_predict_failed(self, request_id: int, message: str) -> None:
        if request_id == self._last_predict:
            self.predict_failed.emit(message)

    def _on_heatmap(self, request_id: int, target: str, heat: Any) -> None:
        if self._last_heatmap == (request_id, self._last_predict):
            self.heatmap_ready.emit(target, heat)

    def shutdown(self) -> None:
        """Stop both threads (quit + wait); safe to call twice."""
        stop_thread(self.read_thread)
        stop_thread(self.predict_thread)
