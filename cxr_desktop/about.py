"""About dialog: model card summary, data attribution, not-a-medical-device notice."""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTextBrowser, QVBoxLayout, QWidget

from cxr_model import NOT_A_DEVICE

ATTRIBUTION = (
    "<li>Images: Kermany D. et al. (2018), <i>Labeled Optical Coherence Tomography (OCT) and "
    "Chest X-Ray Images for Classification</i>, Mendeley Data — pediatric pneumonia chest "
    "X-rays from Guangzhou Women and Children's Medical Center. License CC BY 4.0.</li>"
    "<li>Reports: Demner-Fushman D. et al. (2016), <i>Preparing a collection of radiology "
    "examinations for distribution and retrieval</i>, JAMIA — Open-i / Indiana University "
    "chest X-ray reports. License CC BY-NC-ND 4.0.</li>"
)


def _metrics_html(metrics: Any) -> str:
    if not isinstance(metrics, dict) or not metrics:
        return "<p>No test metrics are recorded in the model card.</p>"
    rows = []
    for key, value in metrics.items():
        if isinstance(value, dict):
            value = ", ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}"
                              for k, v in value.items())
        elif isinstance(value, float):
            value = f"{value:.3f}"
        rows.append(f"<tr><td>{html.escape(str(key))}</td>"
                    f"<td>{html.escape(str(value))}</td></tr>")
    return "<p><b>Test metrics</b></p><table>" + "".join(rows) + "</table>"


def about_html(card: Any | None, model_error: str | None = None,
               precision: str | None = None) -> str:
    """The About text for a ModelCard (or None when no model is installed) and the precision
    the loaded model runs at ("int8"/"fp32", None when unknown)."""
    parts = ["<h2>CXR Desktop</h2>",
             "<p>Chest X-ray viewer with an AI second reader.</p>",
             f"<p style='color:#7a1f1f'><b>{html.escape(NOT_A_DEVICE)}</b></p>",
             "<h3>Model</h3>"]
    if card is None:
        parts.append(f"<p>No model is installed. {html.escape(model_error or '')}</p>")
    else:
        data = card.data
        thresholds = ", ".join(f"{head} {float(value):.3f}"
                               for head, value in data.get("thresholds", {}).items())
        parts.append(
            f"<p>Name: {html.escape(str(data.get('name', 'unnamed')))}<br>"
            f"Text mode: {html.escape(str(card.text_mode))}<br>"
            f"Thresholds: {html.escape(thresholds)}<br>"
            f"Runs at: {html.escape(precision or 'unknown')} precision<br>"
            f"Folder: {html.escape(str(card.directory))}</p>")
        if card.is_demo:
            parts.append("<p style='color:#7a1f1f'><b>Untrained demo model</b>: its outputs "
                         "are not meaningful.</p>")
        parts.append(_metrics_html(data.get("metrics")))
    parts.append("<h3>Data</h3><ul>" + ATTRIBUTION + "</ul>")
    return "".join(parts)


class AboutDialog(QDialog):
    """Shows `about_html` in a scrollable browser."""

    def __init__(self, card: Any | None, model_error: str | None = None,
                 parent: QWidget | None = None, precision: str | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("About CXR Desktop")
        self.resize(560, 520)
        self.browser = QTextBrowser()
        self.browser.setOpenExternalLinks(True)
        self.browser.setHtml(about_html(card, model_error, precision))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.browser)
        layout.addWidget(buttons)
