"""Metrics against scikit-learn as the oracle, and the seed-style report."""

from __future__ import annotations

import numpy as np
import pytest

from cxr_model.training.evaluate import classification_report
from cxr_model.training.metrics import (
    best_threshold,
    confusion,
    expected_calibration_error,
    per_class,
    roc_auc,
    roc_curve,
)

sklearn_metrics = pytest.importorskip("sklearn.metrics")


@pytest.fixture
def scores():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 500)
    probs = np.clip(labels * 0.3 + rng.random(500) * 0.7, 0, 1).round(2)  # ties on purpose
    return labels, probs


def test_auc_matches_sklearn_with_ties(scores):
    labels, probs = scores
    assert roc_auc(labels, probs) == pytest.approx(sklearn_metrics.roc_auc_score(labels, probs))
    assert np.isnan(roc_auc(np.ones(5), np.linspace(0, 1, 5)))


def test_roc_curve_endpoints_and_area(scores):
    labels, probs = scores
    fpr, tpr = roc_curve(labels, np.asarray(probs) + np.arange(500) * 1e-9)
    assert (fpr[0], tpr[0], fpr[-1], tpr[-1]) == (0, 0, 1, 1)
    assert np.trapezoid(tpr, fpr) == pytest.approx(
        sklearn_metrics.roc_auc_score(labels, np.asarray(probs) + np.arange(500) * 1e-9),
        abs=1e-9)


def test_per_class_and_confusion_match_sklearn(scores):
    labels, probs = scores
    predicted = (probs >= 0.5).astype(int)
    ours = per_class(labels, predicted)
    p, r, f, s = sklearn_metrics.precision_recall_fscore_support(labels, predicted)
    for cls in (0, 1):
        assert ours[cls]["precision"] == pytest.approx(p[cls])
        assert ours[cls]["recall"] == pytest.approx(r[cls])
        assert ours[cls]["f1"] == pytest.approx(f[cls])
        assert ours[cls]["support"] == s[cls]
    np.testing.assert_array_equal(confusion(labels, predicted),
                                  sklearn_metrics.confusion_matrix(labels, predicted))


def test_ece():
    assert expected_calibration_error(np.array([1, 0]), np.array([1.0, 0.0])) == 0.0
    # 10 predictions at 0.9 of which half are right: |0.9 - 0.5| = 0.4
    assert expected_calibration_error(np.array([1, 0] * 5), np.full(10, 0.9)) == \
        pytest.approx(0.4)


def test_best_threshold_maximises_accuracy():
    labels = np.array([0, 0, 0, 1, 1, 1])
    probs = np.array([0.1, 0.2, 0.7, 0.75, 0.8, 0.9])
    t = best_threshold(labels, probs)
    assert 0.7 < t <= 0.75
    assert ((probs >= t) == labels).all()


def test_classification_report_lines(scores):
    labels, probs = scores
    predicted = (probs >= 0.5).astype(int)
    text = classification_report(labels, predicted)
    accuracy = (predicted == labels).mean()
    assert f"{accuracy:.4f}" in text
    assert "normal" in text and "abnormal" in text and "weighted avg" in text
    expected_f1 = sklearn_metrics.f1_score(labels, predicted, average="weighted")
    assert f"Overall F1 (weighted):        {expected_f1:.4f}" in text
