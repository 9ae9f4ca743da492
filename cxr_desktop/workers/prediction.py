"""The model on its own thread: loading, switching to another model folder, predictions and
heatmaps."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal, Slot

from cxr_desktop.workers.boundary import Newest, run_guarded
from cxr_desktop.workers.threads import start_in_thread, stop_thread
from cxr_model.errors import CXRError
from cxr_model.inference.predictor import Prediction, Prepared
from cxr_model.inference.router import RoutedInput
from cxr_model.inference.scan import Scorer

ModelFactory = Callable[[], Scorer]
"""Returns the models (load_models(...): a ModelSet; a Model or a test double will do); called
in the worker. Its `cards` are the cards of the models that may answer."""


class PredictWorker(QObject):
    """Owns the model (made by `factory` in the worker thread) and runs every prediction.

    `latest` is set from the GUI thread to the newest request id: queued requests older than
    it are skipped without running the model.
    """

    model_ready = Signal(object)  # list of the models' ModelCards
    model_failed = Signal(str)
    model_switched = Signal(object)  # list of the new models' ModelCards
    switch_failed = Signal(str)  # the current model stays
    predicted = Signal(int, object)  # request id, Prediction
    predict_failed = Signal(int, str)
    heatmap_ready = Signal(int, str, object)  # request id, target, ndarray (H, W)

    def __init__(self, factory: ModelFactory) -> None:
        super().__init__()
        self.factory = factory
        self.model: Scorer | None = None
        self.latest = 0
        self._cache: tuple[Path, Prepared | RoutedInput] | None = None

    def _make(self, factory: ModelFactory) -> tuple[Scorer | None, str]:
        """(model, "") or (None, why it could not be made)."""
        try:
            return factory(), ""
        except Exception as exc:  # the thread boundary: report, never hang
            if isinstance(exc, CXRError):
                return None, str(exc)
            return None, f"the model could not be loaded ({type(exc).__name__}: {exc})"

    @Slot()
    def load(self) -> None:
        self.model, error = self._make(self.factory)
        if self.model is None:
            self.model_failed.emit(error)
        else:
            self.model_ready.emit(list(self.model.cards))

    @Slot(object)
    def switch(self, factory: ModelFactory) -> None:
        """Use the model `factory` makes; if it cannot be made, keep the current one."""
        model, error = self._make(factory)
        if model is None:
            self.switch_failed.emit(error)
            return
        self.model, self.factory, self._cache = model, factory, None
        self.model_switched.emit(list(model.cards))

    def _model_input(self, path: Path) -> Prepared | RoutedInput:
        """The image read and preprocessed for the model, cached for re-runs on report edits."""
        if self._cache is None or self._cache[0] != path:
            self._cache = (path, self.model.prepare(self.model.read(path)))
        return self._cache[1]

    @Slot(int, object, object)
    def predict(self, request_id: int, path: Path, report: str | None) -> None:
        if self.model is None or request_id < self.latest:
            return
        run_guarded(
            lambda: self.predicted.emit(
                request_id, self.model.predict(self._model_input(Path(path)), report)
            ),
            lambda message: self.predict_failed.emit(request_id, message),
        )

    @Slot(int, object, str)
    def heatmap(self, request_id: int, prediction: Prediction, target: str) -> None:
        if self.model is None:
            return
        heat = self.model.heatmap(prediction, target, full_size=False)  # Qt scales it
        self.heatmap_ready.emit(request_id, target, heat)


class PredictService(QObject):
    """GUI-side handle of the predict worker: hands out ids, drops stale answers."""

    model_ready = Signal(object)
    model_failed = Signal(str)
    model_switched = Signal(object)
    switch_failed = Signal(str)
    predicted = Signal(object)
    predict_failed = Signal(str)
    heatmap_ready = Signal(str, object)
    _predict = Signal(int, object, object)
    _heatmap = Signal(int, object, str)
    _switch = Signal(object)

    def __init__(self, factory: ModelFactory, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.worker = PredictWorker(factory)
        self._predictions = Newest()
        self._last_heatmap = (0, 0)  # (heatmap id, prediction id it belongs to)
        self._predict.connect(self.worker.predict)
        self._heatmap.connect(self.worker.heatmap)
        self._switch.connect(self.worker.switch)
        self.worker.model_ready.connect(self.model_ready)
        self.worker.model_failed.connect(self.model_failed)
        self.worker.model_switched.connect(self.model_switched)
        self.worker.switch_failed.connect(self.switch_failed)
        self.worker.predicted.connect(self._on_predicted)
        self.worker.predict_failed.connect(self._on_predict_failed)
        self.worker.heatmap_ready.connect(self._on_heatmap)
        self.thread = start_in_thread(self.worker, "cxr-predict", self.worker.load)

    @property
    def precision(self) -> str | None:
        """The precision the loaded model runs at (read once the worker has set the model)."""
        return getattr(self.worker.model, "precision", None)

    def switch(self, factory: ModelFactory) -> None:
        """Load another model on the worker; model_switched or switch_failed answers."""
        self._switch.emit(factory)

    def predict(self, path: Path, report: str | None) -> int:
        """Queue a prediction; it supersedes every earlier one (their answers are dropped)."""
        request_id = self._predictions.next()
        self.worker.latest = request_id
        self._predict.emit(request_id, Path(path), report)
        return request_id

    def heatmap(self, prediction: Prediction, target: str) -> int:
        """Queue a heatmap of the latest prediction; a newer prediction makes it stale."""
        heat_id = self._last_heatmap[0] + 1
        self._last_heatmap = (heat_id, self._predictions.id)
        self._heatmap.emit(heat_id, prediction, target)
        return heat_id

    def _on_predicted(self, request_id: int, prediction: Prediction) -> None:
        if self._predictions.current(request_id):
            self.predicted.emit(prediction)

    def _on_predict_failed(self, request_id: int, message: str) -> None:
        if self._predictions.current(request_id):
            self.predict_failed.emit(message)

    def _on_heatmap(self, request_id: int, target: str, heat: np.ndarray) -> None:
        if self._last_heatmap == (request_id, self._predictions.id):
            self.heatmap_ready.emit(target, heat)

    def shutdown(self) -> None:
        """Stop the thread (quit + wait); safe to call twice."""
        stop_thread(self.thread)
