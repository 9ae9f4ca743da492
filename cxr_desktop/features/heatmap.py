"""The Grad-CAM heatmap over the image: toggle (H), opacity, target class, and a note when
the heatmap is faded because the prediction does not support its target."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QComboBox, QLabel, QSlider

from cxr_desktop.actions import make_action
from cxr_desktop.panels.result_panel import percent
from cxr_desktop.session import Session
from cxr_desktop.settings import AppSettings
from cxr_desktop.viewer.view import XrayViewer
from cxr_desktop.workers.prediction import PredictService
from cxr_desktop.workers.reading import OpenedImage
from cxr_model.inference.predictor import TARGETS, Prediction, evidence
from cxr_model.vocabulary import Label


def faded_text(prediction: Prediction, target: str) -> str:
    """ "heatmap faded: P(abnormal) 12.0% is below the threshold 46.4%", or "" when the
    heatmap shows at full strength (see `cxr_model.inference.predictor.evidence`)."""
    if evidence(prediction, target) >= 1.0:
        return ""
    p, t = prediction.probability, prediction.threshold
    if target == Label.NORMAL:
        p, t = 1.0 - p, 1.0 - t
    return f"heatmap faded: P({target}) {percent(p)} is below the threshold {percent(t)}"


class HeatmapFeature(QObject):
    """Owns the heatmap action and controls; asks the predict worker for the heatmap of the
    current prediction and keeps one per target until the prediction changes."""

    def __init__(
        self,
        session: Session,
        service: PredictService,
        viewer: XrayViewer,
        settings: AppSettings,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.session = session
        self.service = service
        self.viewer = viewer
        self.settings = settings
        self.heat: dict[str, np.ndarray] = {}
        self.action = make_action(
            self,
            "&Heatmap",
            self.set_visible,
            "H",
            True,
            "Grad-CAM heatmap of the current prediction",
            "flame",
        )
        self.opacity_slider = QSlider(Qt.Orientation.Horizontal)
        self.opacity_slider.setRange(0, 100)
        self.opacity_slider.setFixedWidth(110)
        self.opacity_slider.setToolTip("Heatmap opacity")
        self.opacity_slider.setValue(round(settings.opacity() * 100))
        viewer.set_opacity(settings.opacity())
        self.opacity_slider.valueChanged.connect(self.set_opacity)
        self.target_combo = QComboBox()
        self.target_combo.addItems(list(TARGETS))
        self.target_combo.setToolTip("Heatmap target class")
        self.target_combo.currentTextChanged.connect(self._on_target_changed)
        self.note = QLabel()
        self.note.setObjectName("heatmapNote")
        self.note.setStyleSheet("color:#b36b00;padding-left:6px;")
        service.heatmap_ready.connect(self._on_heatmap)
        session.study_changed.connect(self._on_study)
        session.prediction_changed.connect(self._on_prediction)
        session.model_changed.connect(lambda: self.action.setEnabled(session.model_error is None))

    def set_visible(self, visible: bool) -> None:
        self.viewer.set_overlay_visible(visible)
        if visible:
            self._request()
        self._update_note()

    def _update_note(self) -> None:
        prediction = self.session.prediction
        text = (
            faded_text(prediction, self.target_combo.currentText())
            if self.action.isChecked() and prediction is not None
            else ""
        )
        self.note.setText(text)
        self.note.setToolTip(
            "The heatmap is scaled by how strongly the prediction supports "
            "the target: full strength at or past the threshold."
            if text
            else ""
        )

    def set_opacity(self, value: int) -> None:
        self.viewer.set_opacity(value / 100.0)
        self.settings.set_opacity(value / 100.0)

    def _request(self) -> None:
        target = self.target_combo.currentText()
        if target in self.heat:
            self.viewer.set_heatmap(self.heat[target])
        elif self.session.prediction is not None:
            self.service.heatmap(self.session.prediction, target)

    def _on_study(self, _study: OpenedImage) -> None:
        self.heat.clear()
        self.viewer.set_overlay_visible(self.action.isChecked())
        self._update_note()

    def _on_prediction(self, _prediction: Prediction) -> None:
        self.heat.clear()
        if self.action.isChecked():
            self._request()
        self._update_note()

    def _on_target_changed(self, _target: str) -> None:
        if self.action.isChecked():
            self._request()
        self._update_note()

    def _on_heatmap(self, target: str, heat: np.ndarray) -> None:
        if self.viewer.image is None:
            return
        self.heat[target] = heat
        if target == self.target_combo.currentText():
            self.viewer.set_heatmap(heat)
