"""Classification metrics: scikit-learn for AUC, ROC, accuracy, precision/recall/F1 and the
confusion matrix; here only what it lacks: ECE and the reliability bins (equal-width bins,
P = 0.1 in the second bin), and the accuracy-maximising threshold."""

from __future__ import annotations

import numpy as np
from sklearn import metrics as sk


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve (ties counted half); NaN when only one class is present."""
    labels = np.asarray(labels).astype(int)
    if len(np.unique(labels)) < 2:
        return float("nan")
    return float(sk.roc_auc_score(labels, np.asarray(scores, dtype=np.float64)))


def roc_curve(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """False- and true-positive rates over all thresholds (from (0,0) to (1,1))."""
    fpr, tpr, _ = sk.roc_curve(
        np.asarray(labels).astype(int),
        np.asarray(scores, dtype=np.float64),
        drop_intermediate=False,
    )
    return fpr, tpr


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


def chance_ece(probs: np.ndarray, bins: int = 10, draws: int = 1000, seed: int = 0) -> dict:
    """The ECE a perfectly calibrated predictor with these probabilities shows on a split this
    size by chance alone (labels drawn from the probabilities themselves): median and 95th
    percentile over `draws` draws."""
    probs = np.asarray(probs, dtype=np.float64)
    rng = np.random.default_rng(seed)
    eces = [
        expected_calibration_error(rng.random(len(probs)) < probs, probs, bins)
        for _ in range(draws)
    ]
    return {
        "median": float(np.median(eces)),
        "p95": float(np.quantile(eces, 0.95)),
        "n": len(probs),
    }


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
    """Precision, recall, F1 and support of each class (0 and 1); 0.0 where undefined."""
    precision, recall, f1, support = sk.precision_recall_fscore_support(
        np.asarray(labels).astype(int),
        np.asarray(predicted).astype(int),
        labels=[0, 1],
        zero_division=0.0,
    )
    return {
        cls: {
            "precision": float(precision[cls]),
            "recall": float(recall[cls]),
            "f1": float(f1[cls]),
            "support": int(support[cls]),
        }
        for cls in (0, 1)
    }


def confusion(labels: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """2x2 confusion matrix, rows = true class, columns = predicted class."""
    return sk.confusion_matrix(
        np.asarray(labels).astype(int), np.asarray(predicted).astype(int), labels=[0, 1]
    )


def summary(labels: np.ndarray, probs: np.ndarray, threshold: float) -> dict[str, float]:
    """auc, accuracy, precision, recall, f1 (abnormal = positive), specificity, ece and n."""
    labels = np.asarray(labels).astype(int)
    predicted = (np.asarray(probs) >= threshold).astype(int)
    classes = per_class(labels, predicted)
    positive = classes[1]
    return {
        "auc": roc_auc(labels, probs),
        "accuracy": float(sk.accuracy_score(labels, predicted)) if len(labels) else float("nan"),
        "precision": positive["precision"],
        "recall": positive["recall"],
        "f1": positive["f1"],
        "specificity": classes[0]["recall"],
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
