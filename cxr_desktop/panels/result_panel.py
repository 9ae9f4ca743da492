"""The result panel: fused probability, per-modality probabilities, warnings, disclaimers."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QGridLayout, QLabel, QProgressBar, QVBoxLayout, QWidget

from cxr_model import NOT_A_DEVICE

NO_MODEL_HELP = (
    "No model is installed, so there is no AI result; the viewer works without one. "
    "To get a model, train one with <code>cxr train</code> (see README) and put it in "
    "<code>resources/model</code>, start with <code>cxr-desktop --model DIR</code>, "
    "or set <code>CXR_MODEL_DIR</code>.")


def _label(text: str = "", name: str = "", style: str = "") -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.RichText)
    if name:
        label.setObjectName(name)
    if style:
        label.setStyleSheet(style)
    return label


def percent(value: float | None) -> str:
    """A probability as a percent; never shows a rounded 0% or 100% as if it were certain."""
    if value is None:
        return "—"
    if value < 0.0005:
        return "<0.1%"
    if value > 0.9995:
        return ">99.9%"
    return f"{100.0 * value:.1f}%"


class ResultPanel(QFrame):
    """Shows one Prediction; never shows numbers without a model."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        warn = "background:#7a1f1f;color:white;padding:4px;border-radius:3px;"
        self.demo = _label("<b>Untrained demo model</b>: its numbers mean nothing clinically "
                           "or otherwise; install a trained model.", "demo", warn)
        self.status = _label("", "status")
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setTextVisible(False)
        self.bar.setFixedHeight(14)
        self.probability = _label("", "probability", "font-size:22px;font-weight:bold;")
        self.label = _label("", "label", "font-size:16px;font-weight:bold;")
        for big in (self.probability, self.label):
            big.setWordWrap(False)
        self.image_only = _label("", "imageOnly")
        self.text_only = _label("", "textOnly")
        self.note = _label("", "note", "color:#555;")
        self.discordant = _label(
            "⚠ Image and report disagree: image-only and report-only point to different "
            "labels.", "discordant", "background:#b36b00;color:white;padding:4px;")
        self.ood = _label(
            "⚠ This does not look like a chest X-ray the model knows: do not trust the label.",
            "ood", "background:#7a1f1f;color:white;padding:4px;")
        self.latency = _label("", "latency", "color:#555;")
        self.disclaimer = _label(NOT_A_DEVICE, "disclaimer", "color:#7a1f1f;font-weight:bold;")
        numbers = QGridLayout()
        numbers.addWidget(self.probability, 0, 0)
        numbers.addWidget(self.label, 0, 1, Qt.AlignmentFlag.AlignRight)
        numbers.addWidget(self.bar, 1, 0, 1, 2)
        numbers.addWidget(self.image_only, 2, 0)
        numbers.addWidget(self.text_only, 2, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(_label("<b>AI second reader</b>"))
        layout.addWidget(self.demo)
        layout.addWidget(self.status)
        layout.addLayout(numbers)
        for widget in (self.note, self.discordant, self.ood, self.latency, self.disclaimer):
            layout.addWidget(widget)
        self.demo.hide()
        self.prediction: Any = None
        self.show_message("Loading the model…")

    def _show_numbers(self, visible: bool) -> None:
        for widget in (self.bar, self.probability, self.label, self.image_only, self.text_only,
                       self.note, self.latency):
            widget.setVisible(visible)
        if not visible:
            self.discordant.hide()
            self.ood.hide()

    def show_message(self, text: str) -> None:
        """Only a message (no model, loading, no image, error): no numbers at all."""
        self.prediction = None
        self.status.setText(text)
        self.status.show()
        self._show_numbers(False)

    def show_no_model(self, reason: str) -> None:
        self.show_message(f"<b>No model installed.</b> {NO_MODEL_HELP}"
                          f"<br><small>{reason}</small>")

    def set_demo(self, demo: bool) -> None:
        self.demo.setVisible(demo)

    def show_pending(self) -> None:
        """A prediction is running; dim the previous numbers."""
        self.status.setText("Predicting…")
        self.status.show()

    def show_prediction(self, prediction: Any) -> None:
        self.prediction = prediction
        self.status.hide()
        self._show_numbers(True)
        self.bar.setValue(round(prediction.probability * 1000))
        abnormal = prediction.label == "abnormal"
        colour = "#c0392b" if abnormal else "#1e8449"
        self.bar.setStyleSheet(f"QProgressBar::chunk{{background:{colour};}}")
        self.probability.setText(f"P(abnormal) {percent(prediction.probability)}")
        self.label.setText(f"<span style='color:{colour}'>{prediction.label.upper()}</span>")
        self.image_only.setText(f"Image only: {percent(prediction.image_probability)}")
        self.text_only.setText(f"Report only: {percent(prediction.text_probability)}")
        source = ("Fused image + report." if prediction.used_report
                  else "No report used: image-only prediction.")
        self.note.setText(f"{source} Threshold {percent(prediction.threshold)}.")
        self.discordant.setVisible(bool(prediction.discordant))
        self.ood.setVisible(bool(prediction.ood))
        self.latency.setText(f"Last prediction took {prediction.latency_ms:.0f} ms.")
