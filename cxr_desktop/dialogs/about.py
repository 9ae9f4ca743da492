"""About dialog: the models in use (each card: name, lineage, intended population, figures),
data attribution, the toolbar icons' licence, the not-a-medical-device notice."""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTextBrowser, QVBoxLayout, QWidget

from cxr_desktop.icons import ICON_SET, icon_license
from cxr_model import NOT_A_DEVICE
from cxr_model.inference.card import ModelCard

ATTRIBUTION = (
    "<li>Images: Kermany D. et al. (2018), <i>Labeled Optical Coherence Tomography (OCT) and "
    "Chest X-Ray Images for Classification</i>, Mendeley Data — pediatric pneumonia chest "
    "X-rays from Guangzhou Women and Children's Medical Center. License CC BY 4.0.</li>"
    "<li>Reports: Demner-Fushman D. et al. (2016), <i>Preparing a collection of radiology "
    "examinations for distribution and retrieval</i>, JAMIA — Open-i / Indiana University "
    "chest X-ray reports. License CC BY-NC-ND 4.0.</li>"
)
POPULATION_FIELDS = (
    ("ages", "Ages"),
    ("projection", "Projection"),
    ("sites", "Sites"),
    ("labels", "Labels"),
    ("never_seen", "Never seen in training"),
)


def lineage(card: ModelCard) -> str:
    """ "adapted from NAME (SHA-256 abcdef123456…)" when the card records a parent, else ""."""
    parent = card.data.get("parent") if card is not None else None
    if not parent:
        return ""
    if isinstance(parent, dict):
        name = str(parent.get("name", "an unnamed model"))
        digest = str(parent.get("sha256", ""))
        return f"adapted from {name}" + (f" (SHA-256 {digest[:12]}…)" if digest else "")
    return f"adapted from {parent}"


def model_title(card: ModelCard) -> str:
    """The model's name, with its parent when it was adapted from another."""
    name = str(card.data.get("name") or card.directory.name)
    parent = lineage(card)
    return f"{name}, {parent}" if parent else name


def _escape(value: Any) -> str:
    return html.escape(str(value))


def _metrics_html(metrics: Any) -> str:
    if not isinstance(metrics, dict) or not metrics:
        return "<p>No test metrics are recorded in the model card.</p>"
    rows = []
    for key, value in metrics.items():
        if isinstance(value, dict):
            value = ", ".join(
                f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}" for k, v in value.items()
            )
        elif isinstance(value, float):
            value = f"{value:.3f}"
        rows.append(f"<tr><td>{_escape(key)}</td><td>{_escape(value)}</td></tr>")
    return "<p><b>Test metrics</b></p><table>" + "".join(rows) + "</table>"


def population_html(card: ModelCard) -> str:
    """The card's intended population section, field by field."""
    population = card.data.get("population")
    if not isinstance(population, dict) or not population:
        return (
            "<p><b>Intended population</b>: the model card does not say; treat every "
            "result with extra care.</p>"
        )
    parts = [f"<p><b>Intended population</b>: {_escape(population.get('summary', ''))}</p><ul>"]
    for key, title in POPULATION_FIELDS:
        value = population.get(key)
        if isinstance(value, list):
            value = "; ".join(str(v) for v in value)
        if value:
            parts.append(f"<li><b>{title}</b>: {_escape(value)}</li>")
    return "".join(parts) + "</ul>"


def card_html(card: ModelCard, precision: str | None) -> str:
    """One model's section: name, lineage, thresholds, precision, folder, population, figures."""
    data = card.data
    thresholds = ", ".join(
        f"{head} {float(value):.3f}" for head, value in data.get("thresholds", {}).items()
    )
    parent = lineage(card)
    parts = [
        f"<h4>The {_escape(card.short_name)} model ({_escape(card.version)})</h4>",
        f"<p>Name: {_escape(data.get('name', 'unnamed'))}<br>"
        + (f"Lineage: {_escape(parent)}<br>" if parent else "")
        + f"Text mode: {_escape(card.text_mode)}<br>"
        f"Thresholds: {_escape(thresholds)}<br>"
        f"Runs at: {_escape(precision or 'unknown')} precision<br>"
        f"Folder: {_escape(card.directory)}</p>",
    ]
    if card.is_demo:
        parts.append(
            "<p style='color:#7a1f1f'><b>Untrained demo model</b>: its outputs "
            "are not meaningful.</p>"
        )
    parts.append(population_html(card))
    parts.append(_metrics_html(data.get("metrics")))
    return "".join(parts)


def about_html(
    cards: list[ModelCard] | ModelCard | None,
    model_error: str | None = None,
    precision: str | None = None,
) -> str:
    """The About text for the models in use (their cards, one card, or None when no model is
    installed) and the precision they run at ("int8", "fp32" or per model; None when
    unknown)."""
    cards = [] if cards is None else cards if isinstance(cards, list) else [cards]
    parts = [
        "<h2>CXR Desktop</h2>",
        "<p>Chest X-ray viewer with an AI second reader.</p>",
        f"<p style='color:#7a1f1f'><b>{_escape(NOT_A_DEVICE)}</b></p>",
        "<h3>Models</h3>" if len(cards) > 1 else "<h3>Model</h3>",
    ]
    if not cards:
        parts.append(f"<p>No model is installed. {_escape(model_error or '')}</p>")
    if len(cards) > 1:
        parts.append(
            "<p>Each image is answered by the model for its patient: by the age in the DICOM "
            "header, else by the models' population detectors.</p>"
        )
    parts += [card_html(card, precision) for card in cards]
    parts.append("<h3>Data</h3><ul>" + ATTRIBUTION + "</ul>")
    licence = icon_license()
    parts.append(
        f"<h3>Icons</h3><p>Toolbar icons: {ICON_SET} (tabler.io/icons), MIT "
        "License:</p>"
        + (
            f"<pre style='font-size:10px'>{_escape(licence)}</pre>"
            if licence
            else "<p>(licence file missing)</p>"
        )
    )
    return "".join(parts)


class AboutDialog(QDialog):
    """Shows `about_html` in a scrollable browser."""

    def __init__(
        self,
        cards: list[ModelCard] | ModelCard | None,
        model_error: str | None = None,
        parent: QWidget | None = None,
        precision: str | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("About CXR Desktop")
        self.resize(620, 620)
        self.browser = QTextBrowser()
        self.browser.setOpenExternalLinks(True)
        self.browser.setHtml(about_html(cards, model_error, precision))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.browser)
        layout.addWidget(buttons)
