"""Agreement figures: how often the radiologist agreed with the AI, and the AI's sensitivity
and specificity against the verdicts, per model version, with the counts behind each."""

from __future__ import annotations

from dataclasses import dataclass

from cxr_model.feedback.store import Verdict
from cxr_model.vocabulary import Label, Reading, Truth


@dataclass
class ModelStats:
    """The figures of one model (name and version) over the current verdicts."""

    model: str
    version: str
    verdicts: int = 0
    ungradable: int = 0
    no_label: int = 0  # the AI gave no label (outside its population, not scored)
    uncertain: int = 0  # the AI's result was inside its uncertainty band (label still counted)
    agreed: int = 0
    true_positive: int = 0
    false_negative: int = 0
    true_negative: int = 0
    false_positive: int = 0

    @property
    def compared(self) -> int:
        """Verdicts with a gradable truth and an AI label: what the figures are over."""
        return self.true_positive + self.false_negative + self.true_negative + self.false_positive

    @property
    def agreement(self) -> float | None:
        return self.agreed / self.compared if self.compared else None

    @property
    def sensitivity(self) -> float | None:
        positives = self.true_positive + self.false_negative
        return self.true_positive / positives if positives else None

    @property
    def specificity(self) -> float | None:
        negatives = self.true_negative + self.false_positive
        return self.true_negative / negatives if negatives else None

    def add(self, verdict: Verdict) -> None:
        self.verdicts += 1
        self.uncertain += verdict.ai_reading == Reading.UNCERTAIN
        if verdict.truth == Truth.UNGRADABLE:
            self.ungradable += 1
            return
        if verdict.ai_agrees is None:
            self.no_label += 1
            return
        self.agreed += verdict.ai_agrees
        ai_abnormal = verdict.ai_label == Label.ABNORMAL
        if verdict.truth == Truth.ABNORMAL:
            self.true_positive += ai_abnormal
            self.false_negative += not ai_abnormal
        else:
            self.false_positive += ai_abnormal
            self.true_negative += not ai_abnormal

    def to_dict(self) -> dict:
        """JSON-ready: the counts and the three figures (None where nothing to count)."""
        data = dict(vars(self))
        data.update(
            compared=self.compared,
            agreement=self.agreement,
            sensitivity=self.sensitivity,
            specificity=self.specificity,
        )
        return data


def model_stats(verdicts: list[Verdict]) -> list[ModelStats]:
    """One ModelStats per model version that the verdicts were given on, by name."""
    found: dict[tuple[str, str], ModelStats] = {}
    for verdict in verdicts:
        key = (verdict.model or "(no model)", verdict.model_version)
        found.setdefault(key, ModelStats(*key)).add(verdict)
    return [found[key] for key in sorted(found)]


def _figure(value: float | None, hits: int, total: int) -> str:
    return "n/a (0 cases)" if value is None else f"{value:.1%} ({hits}/{total})"


def figure_texts(stats: ModelStats) -> dict[str, str]:
    """ "81.0% (17/21)" per figure (agreement, sensitivity, specificity)."""
    positives = stats.true_positive + stats.false_negative
    negatives = stats.true_negative + stats.false_positive
    return {
        "agreement": _figure(stats.agreement, stats.agreed, stats.compared),
        "sensitivity": _figure(stats.sensitivity, stats.true_positive, positives),
        "specificity": _figure(stats.specificity, stats.true_negative, negatives),
    }


def stats_lines(stats: ModelStats) -> list[str]:
    """The figures of one model for a person to read."""
    figures = figure_texts(stats)
    return [
        f"{stats.model} [{stats.version or 'version unknown'}]: {stats.verdicts} verdict(s)",
        *(f"  {name:<11} {text}" for name, text in figures.items()),
        f"  left out: {stats.ungradable} not gradable, {stats.no_label} without an AI label; "
        f"{stats.uncertain} uncertain AI result(s) counted by their label",
    ]
