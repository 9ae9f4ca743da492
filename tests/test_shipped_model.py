"""The shipped model: its card's test figures are reproduced by `cxr evaluate` on the data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cxr_model.cli import main

SHIPPED_MODEL = Path(__file__).resolve().parent.parent / "resources" / "model"

pytestmark = pytest.mark.skipif(not (SHIPPED_MODEL / "model_card.json").is_file(),
                                reason="no trained model in resources/model")


@pytest.fixture(scope="module")
def card() -> dict:
    return json.loads((SHIPPED_MODEL / "model_card.json").read_text())


def test_card_is_complete(card):
    assert not card.get("demo")
    for section in ("architecture", "input", "tokenizer", "thresholds", "calibration", "ood",
                    "metrics", "training", "files", "text_mode_comparison"):
        assert section in card, section
    assert set(card["metrics"]) >= {"val", "test"}
    for split in ("val", "test"):
        assert set(card["metrics"][split]) == {"fused", "image", "text"}
    size = sum((SHIPPED_MODEL / name).stat().st_size for name in card["files"])
    assert size <= 70 * 1024 * 1024


def test_evaluate_reproduces_the_cards_test_figures(card, shared_data, tmp_path, capsys,
                                                    monkeypatch):
    monkeypatch.setenv("CXR_MODEL_DIR", str(SHIPPED_MODEL))
    pairs = shared_data / "cxr-pairs" / "pairs.csv"
    # the card's metrics are fp32's; int8's are checked by tests/test_int8.py
    assert main(["--precision", "fp32", "evaluate", "--data", str(pairs), "--split", "test",
                 "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    measured = json.loads((tmp_path / "metrics.json").read_text())
    for head in ("fused", "image", "text"):
        for key, value in card["metrics"]["test"][head].items():
            assert measured[head][key] == pytest.approx(value, abs=1e-6), (head, key)
    assert "weighted avg" in printed
    for name in ("confusion_matrix.png", "roc_curves.png", "reliability.png"):
        assert (tmp_path / name).stat().st_size > 1000
