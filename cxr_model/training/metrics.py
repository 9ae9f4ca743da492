"""Classification metrics in plain numpy (AUC, accuracy, precision/recall/F1, ECE)."""

from __future__ import annotations

import numpy as np


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney, ties counted half)."""
    labels = np.asarray(labels).astype(bool)
    scores = np.asarray(scores, dtype=np.float64)
    n_pos, n_neg = labels.sum(), (~labels).sum()
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores), dtype=np.float64)
    sorted_scores = scores[order]
    # average ranks over ties
    _, first, counts = np.unique(sorted_scores, return_index=True, return_counts=True)
    avg = first + (counts + 1) / 2.0
    ranks[order] = np.repeat(avg, counts)
    return float((ranks[labels].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def roc_curve(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """False- and true-positive rates over all thresholds (from (0,0) to (1,1))."""
    labels = np.asarray(labels).astype(bool)
    order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="mergesort")
    tp = np.concatenate([[0], np.cumsum(labels[order])])
    fp = np.concatenate([[0], np.cumsum(~labels[order])])
    return fp / max(fp[-1], 1), tp / max(tp[-1], 1)


def expected_calibration_error(labels: np.ndarray, probs: np.ndarray, bins: int = 10) -> float:
    """ECE with equal-width bins over P(abnormal)."""
    labels = np.asarray(labels, dtype=np.float64)
    probs = np.asarray(probs, dtype=np.float64)
    index = np.minimum((probs * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        mask = index == b
        if mask.any():
            total += mask.sum() * abs(probs[mask].mean() - labels[mask].mean())
    return float(total / max(len(probs), 1))


def reliability(labels: np.ndarray, probs: np.ndarray, bins: int = 10):
    """Per-bin (mean confidence, observed frequency, count) for a reliability diagram."""
    labels = np.asarray(labels, dtype=np.float64)
    probs = np.asarray(probs, dtype=np.float64)
    index = np.minimum((probs * bins).astype(int), bins - 1)
    rows = []
    for b in range(bins):
        mask = index == b
        if mask.any():
            rows.append((float(probs[mask].mean()), float(labels[mask].mean()), int(mask.sum())))
    return rows


def per_class(labels: np.ndarray, predicted: np.ndarray) -> dict[int, dict[str, float]]:
    """Precision, recall, F1 and support of each class (0 and 1)."""
    labels = np.asarray(labels).astype(int)
    predicted = np.asarray(predicted).astype(int)
    out = {}
    for cls in (0, 1):
        tp = int(((predicted == cls) & (labels == cls)).sum())
        fp = int(((predicted == cls) & (labels != cls)).sum())
        fn = int(((predicted != cls) & (labels == cls)).sum())
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        out[cls] = {"precision": precision, "recall": recall, "f1": f1,
                    "support": int((labels == cls).sum())}
    return out


def confusion(labels: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """2x2 confusion matrix, rows = true class, columns = predicted class."""
    matrix = np.zeros((2, 2), dtype=int)
    for t, p in zip(np.asarray(labels).astype(int), np.asarray(predicted).astype(int),
                    strict=True):
        matrix[t, p] += 1
    return matrix


def summary(labels: np.ndarray, probs: np.ndarray, threshold: float) -> dict[str, float]:
    """auc, accuracy, precision, recall, f1 (abnormal = positive), ece and n."""
    labels = np.asarray(labels).astype(int)
    predicted = (np.asarray(probs) >= threshold).astype(int)
    positive = per_class(labels, predicted)[1]
    return {
        "auc": roc_auc(labels, probs),
        "accuracy": float((predicted == labels).mean()) if len(labels) else float("nan"),
        "precision": positive["precision"],
        "recall": positive["recall"],
        "f1": positive["f1"],
        "ece": expected_calibration_error(labels, probs),
        "n": int(len(labels)),
    }


def best_threshold(labels: np.ndarray, probs: np.ndarray) -> float:
    """The threshold that maximises accuracy (midpoint between neighbouring scores)."""
    probs = np.asarray(probs, dtype=np.float64)
    labels = np.asarray(labels).astype(int)
    candidates = np.unique(np.concatenate([[0.5], probs]))
    mids = np.concatenate([[0.5], (candidates[:-1] + candidates[1:]) / 2.0])
    accuracy = [((probs >= t).astype(int) == labels).mean() for t in mids]
    best = max(accuracy)
    # among equally accurate thresholds, prefer the one closest to 0.5
    ties = [t for t, a in zip(mids, accuracy, strict=True) if a == best]
    return float(min(ties, key=lambda t: abs(t - 0.5)))

