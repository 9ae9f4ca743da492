"""The AI second reader: the model on its worker, predictions as the report changes, and
the result panel that shows them."""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer

from cxr_desktop.features.report import ReportFeature
from cxr_desktop.panels.result_panel import ResultPanel
from cxr_desktop.session import Session
from cxr_desktop.workers.prediction import ModelFactory, PredictService
from cxr_model.inference.card import ModelCard
from cxr_model.inference.predictor import Prediction

DEBOUNCE_MS = 400


class InferenceFeature(QObject):
    """Owns the predict worker and the ResultPanel; predicts on a new study at once and
    DEBOUNCE_MS after the last keystroke in the report."""

    def __init__(
        self,
        session: Session,
        factory: ModelFactory,
        report: ReportFeature,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.session = session
        self.report = report
        self.panel = ResultPanel()
        self.debounce = QTimer(self)
        self.debounce.setSingleShot(True)
        self.debounce.setInterval(DEBOUNCE_MS)
        self.debounce.timeout.connect(self.request)
        report.editor.changed.connect(self.debounce.start)
        report.loaded.connect(self.request)
        session.study_changed.connect(self.request)
        self.service = PredictService(factory, self)
        self.service.model_ready.connect(self._on_model_ready)
        self.service.model_failed.connect(self._on_model_failed)
        self.service.model_switched.connect(self._on_model_ready)
        self.service.predicted.connect(session.set_prediction)
        self.service.predict_failed.connect(self._on_predict_failed)
        session.prediction_changed.connect(self._on_prediction)

    def request(self) -> None:
        """Predict now for the current image + report (the debounce timer calls this)."""
        self.debounce.stop()
        if self.session.study is None or self.session.card is None:
            return
        self.service.predict(self.session.study.path, self.report.report())
        self.panel.show_pending()

    def _on_model_ready(self, cards: list[ModelCard]) -> None:
        self.session.set_model(cards)
        self.panel.set_cards(cards)
        self.panel.show_message("Open an X-ray to get a prediction.")
        self.request()

    def _on_model_failed(self, message: str) -> None:
        self.session.set_model(None, message)
        self.panel.show_no_model(message)

    def _on_prediction(self, prediction: Prediction) -> None:
        if prediction is not None:
            self.panel.set_card(self.session.card)  # the population of the model that answered
            self.panel.show_prediction(prediction)

    def _on_predict_failed(self, message: str) -> None:
        self.session.show_error(f"Prediction failed: {message}")
        self.panel.show_message(f"No result: {message}")

    def shutdown(self) -> None:
        self.service.shutdown()
