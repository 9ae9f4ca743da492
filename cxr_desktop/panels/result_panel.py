"""The result panel: fused probability, per-modality probabilities, warnings, disclaimers.

The label reads NORMAL/ABNORMAL only when the prediction earns one: "uncertain" within the
card's margin of the threshold, and "no label" (numbers greyed) for a patient outside the
model's training population by age.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QGridLayout, QLabel, QProgressBar, QVBoxLayout, QWidget

from cxr_model import NOT_A_DEVICE
from cxr_model.inference.card import ModelCard
from cxr_model.inference.predictor import Prediction
from cxr_model.inference.router import answered_by
from cxr_model.vocabulary import OodReason, Reading, Route

NO_MODEL_HELP = (
    "No model is installed, so there is no AI result; the viewer works without one. "
    "To get a model, train one with <code>cxr train</code> (see README) and put it in "
    "<code>resources/models/NAME</code>, start with <code>cxr-desktop --model DIR</code>, "
    "open one with Model &gt; Open model folder…, or set <code>CXR_MODEL_DIR</code>."
)
COLOURS = {
    Reading.ABNORMAL: "#c0392b",
    Reading.NORMAL: "#1e8449",
    Reading.UNCERTAIN: "#b36b00",
    Reading.NO_LABEL: "#8a8a8a",
}


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


def age_group(years: float) -> str:
    """infant (< 1), child (1-12), adolescent (13-17) or adult (18 and over)."""
    if years < 1:
        return "infant"
    if years < 13:
        return "child"
    return "adolescent" if years < 18 else "adult"


def age_text(years: float) -> str:
    """45 years, 1 year, 8 months, 3 weeks, 5 days."""
    if years >= 1:
        whole = int(years)
        return f"{whole} year{'s' * (whole != 1)}"
    for unit, per_year in (("month", 12), ("week", 52.18), ("day", 365.25)):
        count = int(years * per_year)
        if count >= 1:
            return f"{count} {unit}{'s' * (count != 1)}"
    return "newborn"


def out_of_population_text(prediction: Prediction) -> str:
    """ "outside the model's training population (adult, 45 years): no label"; "outside
    every installed model's ..." when no model covers the age."""
    age = prediction.patient_age
    who = f"{age_group(age)}, {age_text(age)}" if age is not None else "age unknown"
    whose = (
        "every installed model's" if prediction.route == Route.NO_MODEL_FOR_AGE else "the model's"
    )
    return f"outside {whose} training population ({who}): no label"


def answered_text(prediction: Prediction) -> str:
    """ "Answered by the adult model (3f2a9c1b0d4e), chosen by the patient's age"; "" when
    the prediction names no model."""
    text = answered_by(prediction.model, prediction.route)
    return f"Answered by {text}" if text else ""


def track_record_text(card: ModelCard | None) -> str:
    """How the answering model did on its own `test` split, image only, as its card records it:
    "Its record on its test set (160 X-rays, image only): AUC 0.82; at its threshold it found
    72% of abnormal X-rays and called 79% of normal ones normal." ("" when not measured)."""
    figures = card.measured("test").get("image", {}) if card is not None else {}
    if not {"auc", "recall", "specificity", "n"} <= set(figures):
        return ""
    return (
        f"Its record on its test set ({figures['n']} X-rays, image only): AUC "
        f"{figures['auc']:.2f}; at its threshold it found {100 * figures['recall']:.0f}% of "
        f"abnormal X-rays and called {100 * figures['specificity']:.0f}% of normal ones normal."
    )


def verdict_text(prediction: Prediction) -> str:
    """Short, for lists (study panel): "73.1% ABNORMAL", "47.0% uncertain", "53.1% no label
    (age)"; the percent is P(abnormal)."""
    word = {Reading.NO_LABEL: "no label (age)", Reading.UNCERTAIN: "uncertain"}.get(
        prediction.reading, prediction.label.upper()
    )
    return f"{percent(prediction.probability)} {word}"


def population_summary(card: ModelCard) -> str:
    """The card's one-line intended population, or ""."""
    population = card.data.get("population", {}) if card is not None else {}
    return str(population.get("summary", "")) if isinstance(population, dict) else ""


def populations_text(cards: list[ModelCard]) -> str:
    """ "Trained for: SUMMARY." for one model; per model, by name, for several."""
    if len(cards) == 1:
        summary = population_summary(cards[0])
        return f"Trained for: {summary}." if summary else ""
    lines = [
        f"{card.short_name}: {population_summary(card) or 'population not stated'}"
        for card in cards
    ]
    return "Models, each for its population:<br>" + "<br>".join(lines) if lines else ""


class ResultPanel(QFrame):
    """Shows one Prediction; never shows numbers without a model."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        warn = "background:#7a1f1f;color:white;padding:4px;border-radius:3px;"
        self.demo = _label(
            "<b>Untrained demo model</b>: its numbers mean nothing clinically "
            "or otherwise; install a trained model.",
            "demo",
            warn,
        )
        self.status = _label("", "status")
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setTextVisible(False)
        self.bar.setFixedHeight(14)
        self.probability = _label("", "probability")
        self.label = _label("", "label")
        for big in (self.probability, self.label):
            big.setWordWrap(False)
        self.image_only = _label("", "imageOnly")
        self.text_only = _label("", "textOnly")
        self.note = _label("", "note", "color:#555;")
        self.population_warning = _label("", "populationWarning", warn)
        self.discordant = _label(
            "⚠ Image and report disagree: image-only and report-only point to different labels.",
            "discordant",
            "background:#b36b00;color:white;padding:4px;",
        )
        self.ood = _label(
            "⚠ This does not look like a chest X-ray the model knows: do not trust the label.",
            "ood",
            "background:#7a1f1f;color:white;padding:4px;",
        )
        self.answered = _label("", "answered", "color:#333;")
        self.track_record = _label("", "trackRecord", "color:#555;")
        self.latency = _label("", "latency", "color:#555;")
        self.population = _label("", "population", "color:#555;font-size:11px;")
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
        for widget in (
            self.note,
            self.population_warning,
            self.discordant,
            self.ood,
            self.answered,
            self.track_record,
            self.latency,
            self.population,
            self.disclaimer,
        ):
            layout.addWidget(widget)
        self.demo.hide()
        self.population.hide()
        self.prediction: Prediction | None = None
        self.cards: dict[str, ModelCard] = {}  # by `model` label, as predictions name them
        self.show_message("Loading the model…")

    def _show_numbers(self, visible: bool) -> None:
        for widget in (
            self.bar,
            self.probability,
            self.label,
            self.image_only,
            self.text_only,
            self.note,
            self.answered,
            self.track_record,
            self.latency,
        ):
            widget.setVisible(visible)
        if not visible:
            for warning in (self.population_warning, self.discordant, self.ood):
                warning.hide()

    def show_message(self, text: str) -> None:
        """Only a message (no model, loading, no image, error): no numbers at all."""
        self.prediction = None
        self.status.setText(text)
        self.status.show()
        self._show_numbers(False)

    def show_no_model(self, reason: str) -> None:
        self.set_card(None)
        self.show_message(f"<b>No model installed.</b> {NO_MODEL_HELP}<br><small>{reason}</small>")

    def set_card(self, card: ModelCard | None) -> None:
        """The model in use (None: none): demo banner and its intended population."""
        self.set_cards([] if card is None else [card])

    def set_cards(self, cards: list[ModelCard]) -> None:
        """The models that may answer: demo banner when one is, their intended populations."""
        self.demo.setVisible(any(card.is_demo for card in cards))
        self.cards = {card.label: card for card in cards}
        text = populations_text(cards)
        self.population.setText(text)
        self.population.setVisible(bool(text))

    def show_pending(self) -> None:
        """A prediction is running; dim the previous numbers."""
        self.status.setText("Predicting…")
        self.status.show()

    def show_prediction(self, prediction: Prediction) -> None:
        self.prediction = prediction
        self.status.hide()
        self._show_numbers(True)
        shown = prediction.reading
        colour = COLOURS[shown]
        grey = "color:#9a9a9a;" if shown == Reading.NO_LABEL else ""
        self.bar.setValue(round(prediction.probability * 1000))
        self.bar.setStyleSheet(f"QProgressBar::chunk{{background:{colour};}}")
        self.probability.setStyleSheet(f"font-size:22px;font-weight:bold;{grey}")
        self.probability.setText(f"P(abnormal) {percent(prediction.probability)}")
        bold = (
            "font-weight:bold;"
            if shown in (Reading.NORMAL, Reading.ABNORMAL)
            else "font-style:italic;"
        )
        words = {Reading.NO_LABEL: "no label", Reading.UNCERTAIN: "uncertain"}
        self.label.setStyleSheet(f"font-size:16px;{bold}")
        self.label.setText(
            f"<span style='color:{colour}'>{words.get(shown, prediction.label.upper())}</span>"
        )
        for widget in (self.image_only, self.text_only):
            widget.setStyleSheet(grey)
        self.image_only.setText(f"Image only: {percent(prediction.image_probability)}")
        self.text_only.setText(f"Report only: {percent(prediction.text_probability)}")
        source = (
            "Fused image + report."
            if prediction.used_report
            else "No report used: image-only prediction."
        )
        band = (
            " Within the uncertainty margin of the threshold: read it as uncertain."
            if shown == Reading.UNCERTAIN
            else ""
        )
        self.note.setText(f"{source} Threshold {percent(prediction.threshold)}.{band}")
        self.population_warning.setText(
            f"⚠ {out_of_population_text(prediction).capitalize()}."
            if shown == Reading.NO_LABEL
            else ""
        )
        self.population_warning.setVisible(shown == Reading.NO_LABEL)
        self.discordant.setVisible(bool(prediction.discordant) and prediction.has_label)
        self.ood.setVisible(prediction.ood_reason == OodReason.IMAGE)
        self.answered.setText(answered_text(prediction))
        self.answered.setVisible(bool(self.answered.text()))
        answering = self.cards.get(prediction.model or "") if prediction.has_label else None
        self.track_record.setText(track_record_text(answering))
        self.track_record.setVisible(bool(self.track_record.text()))
        self.latency.setText(f"Last prediction took {prediction.latency_ms:.0f} ms.")
