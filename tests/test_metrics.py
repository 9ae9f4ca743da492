"""Metrics on cases worked out by hand (scikit-learn computes most of them), and the
seed-style report."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("sklearn", reason="the metrics need scikit-learn (the train extra)")

from cxr_model.training.evaluate import classification_report
from cxr_model.training.metrics import (
    best_threshold,
    chance_ece,
    confusion,
    expected_calibration_error,
    per_class,
    roc_auc,
    roc_curve,
    summary,
)

# 5 studies: true 0 0 1 1 1, scored so that at 0.5 one of each class is wrong.
LABELS = np.array([0, 0, 1, 1, 1])
PROBS = np.array([0.2, 0.6, 0.7, 0.9, 0.4])
PREDICTED = (PROBS >= 0.5).astype(int)  # 0 1 1 1 0


def test_auc_by_hand_with_ties():
    # pairs (positive, negative): 6; positive ranked above in 4 (0.7>0.2, 0.7>0.6, 0.9 twice)
    # plus 0.4 > 0.2: 5 of 6
    assert roc_auc(LABELS, PROBS) == pytest.approx(5 / 6)
    assert roc_auc(np.array([0, 1]), np.array([0.5, 0.5])) == pytest.approx(0.5)  # tie: half
    assert np.isnan(roc_auc(np.ones(5), np.linspace(0, 1, 5)))


def test_roc_curve_endpoints_and_area():
    fpr, tpr = roc_curve(LABELS, PROBS)
    assert (fpr[0], tpr[0], fpr[-1], tpr[-1]) == (0, 0, 1, 1)
    assert np.trapezoid(tpr, fpr) == pytest.approx(5 / 6)


def test_per_class_and_confusion_by_hand():
    ours = per_class(LABELS, PREDICTED)
    assert ours[1] == pytest.approx(
        {"precision": 2 / 3, "recall": 2 / 3, "f1": 2 / 3, "support": 3}
    )
    assert ours[0] == pytest.approx(
        {"precision": 1 / 2, "recall": 1 / 2, "f1": 1 / 2, "support": 2}
    )
    np.testing.assert_array_equal(confusion(LABELS, PREDICTED), [[1, 1], [1, 2]])
    never = per_class(LABELS, np.zeros(5, dtype=int))  # no positive prediction: 0, not NaN
    assert never[1]["precision"] == 0.0 and never[1]["f1"] == 0.0
    np.testing.assert_array_equal(confusion(np.zeros(3), np.zeros(3)), [[3, 0], [0, 0]])


def test_summary_by_hand():
    figures = summary(LABELS, PROBS, 0.5)
    assert figures["accuracy"] == pytest.approx(3 / 5)
    assert figures["precision"] == pytest.approx(2 / 3) and figures["n"] == 5
    assert figures["auc"] == pytest.approx(5 / 6)


def test_ece():
    assert expected_calibration_error(np.array([1, 0]), np.array([1.0, 0.0])) == 0.0
    # 10 predictions at 0.9 of which half are right: |0.9 - 0.5| = 0.4
    assert expected_calibration_error(np.array([1, 0] * 5), np.full(10, 0.9)) == pytest.approx(0.4)


def test_best_threshold_maximises_accuracy():
    labels = np.array([0, 0, 0, 1, 1, 1])
    probs = np.array([0.1, 0.2, 0.7, 0.75, 0.8, 0.9])
    t = best_threshold(labels, probs)
    assert 0.7 < t <= 0.75
    assert ((probs >= t) == labels).all()


def test_classification_report_lines():
    text = classification_report(LABELS, PREDICTED)
    assert "normal" in text and "abnormal" in text and "weighted avg" in text
    assert "Accuracy:                     0.6000" in text
    weighted_f1 = (2 * 0.5 + 3 * (2 / 3)) / 5
    assert f"Overall F1 (weighted):        {weighted_f1:.4f}" in text


def test_chance_ece_is_what_a_calibrated_predictor_shows_by_chance():
    rng = np.random.default_rng(1)
    small, large = rng.random(96), rng.random(20_000)
    few, many = chance_ece(small), chance_ece(large, draws=50)
    assert few == chance_ece(small)  # seeded
    assert few["n"] == 96 and few["median"] <= few["p95"]
    assert few["median"] > 0.04 > 0.01 > many["median"]  # small splits are noisy
