"""Figures within subgroups (e.g. the view, AP or PA): AUC with a 95% bootstrap interval
overall and inside each group, sensitivity and specificity at the shipped threshold, and the
AUC of a predictor that knows only the group, the reference line a model must beat to show it
reads the disease rather than the group."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from cxr_model.training.metrics import roc_auc, summary

BOOTSTRAP_ROUNDS = 2000


def bootstrap_auc(
    labels: np.ndarray, scores: np.ndarray, rounds: int = BOOTSTRAP_ROUNDS, seed: int = 0
) -> tuple[float, float]:
    """95% percentile interval of the AUC over `rounds` resamples of the studies (resamples
    with one class only are drawn again); (nan, nan) when a class is missing."""
    labels, scores = np.asarray(labels).astype(int), np.asarray(scores, dtype=np.float64)
    if len(np.unique(labels)) < 2:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    aucs: list[float] = []
    while len(aucs) < rounds:
        pick = rng.integers(0, len(labels), len(labels))
        if labels[pick].min() != labels[pick].max():
            aucs.append(roc_auc(labels[pick], scores[pick]))
    low, high = np.percentile(aucs, [2.5, 97.5])
    return float(low), float(high)


def group_only_auc(labels: np.ndarray, groups: Sequence[str]) -> float:
    """AUC of scoring each study by its group's abnormal share on these studies: the best
    any predictor that knows only the group can rank them (ties counted half)."""
    labels = np.asarray(labels).astype(int)
    groups = np.asarray(groups)
    share = {g: labels[groups == g].mean() for g in np.unique(groups)}
    return roc_auc(labels, np.array([share[g] for g in groups]))


def figures(labels: np.ndarray, scores: np.ndarray, threshold: float, seed: int = 0) -> dict:
    """auc, its 95% interval, sensitivity, specificity, ece and counts of one set of studies."""
    labels = np.asarray(labels).astype(int)
    m = summary(labels, scores, threshold)
    low, high = bootstrap_auc(labels, scores, seed=seed)
    return {
        "auc": m["auc"],
        "auc_ci95": [low, high],
        "sensitivity": m["recall"],
        "specificity": m["specificity"],
        "ece": m["ece"],
        "n": m["n"],
        "abnormal": int(labels.sum()),
    }


def subgroup_figures(
    labels: np.ndarray,
    scores: np.ndarray,
    groups: Sequence[str],
    threshold: float,
    column: str,
    seed: int = 0,
) -> dict:
    """Overall figures, figures within each group, and the group-only reference AUC."""
    labels, scores, groups = np.asarray(labels), np.asarray(scores), np.asarray(groups)
    return {
        "column": column,
        "threshold": threshold,
        "overall": figures(labels, scores, threshold, seed),
        "within": {
            str(g): figures(labels[groups == g], scores[groups == g], threshold, seed)
            for g in np.unique(groups)
        },
        "group_only_auc": group_only_auc(labels, groups),
        "method": f"AUC 95% intervals: percentile bootstrap over studies, {BOOTSTRAP_ROUNDS} "
        f"resamples; group_only_auc: each study scored by its {column}'s abnormal share "
        "on the same studies (the best a predictor that knows only the group can do)",
    }


def format_subgroups(section: dict) -> list[str]:
    """Printable lines of `subgroup_figures`."""

    def line(name: str, f: dict) -> str:
        low, high = f["auc_ci95"]
        return (
            f"  {name:<10} n={f['n']:<4} AUC {f['auc']:.3f} (95% CI {low:.3f}-{high:.3f})  "
            f"sens {f['sensitivity']:.3f}  spec {f['specificity']:.3f}"
        )

    return [
        f"by {section['column']} (threshold {section['threshold']:.3f}):",
        line("all", section["overall"]),
        *(line(f"{section['column']} {g}", f) for g, f in section["within"].items()),
        f"  {section['column']}-only predictor: AUC {section['group_only_auc']:.3f}",
    ]
