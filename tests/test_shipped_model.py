"""The shipped model: its card's test figures are reproduced by `cxr evaluate` on the data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cxr_model.cli import main

SHIPPED_MODEL = Path(__file__).resolve().parent.parent / "resources" / "models" / "paediatric"

pytestmark = pytest.mark.skipif(
    not (SHIPPED_MODEL / "model_card.json").is_file(),
    reason="no trained model in resources/models/paediatric",
)


@pytest.fixture(scope="module")
def card() -> dict:
    return json.loads((SHIPPED_MODEL / "model_card.json").read_text())


def test_card_is_complete(card):
    assert not card.get("demo")
    for section in (
        "architecture",
        "input",
        "tokenizer",
        "thresholds",
        "calibration",
        "ood",
        "metrics",
        "training",
        "files",
        "text_mode_comparison",
    ):
        assert section in card, section
    assert set(card["metrics"]) >= {"val", "test"}
    for split in ("val", "test"):
        assert set(card["metrics"][split]) == {"fused", "image", "text"}
    size = sum((SHIPPED_MODEL / name).stat().st_size for name in card["files"])
    assert size <= 70 * 1024 * 1024


@pytest.fixture(scope="module")
def adult_pairs(shared_data, tmp_path_factory) -> Path:
    """The adult set split by patient as the model card says it was (`cxr dataset`)."""
    from cxr_model.training.dataset_build import build_from_folder

    adult = shared_data / "adult-nih-64"
    out = tmp_path_factory.mktemp("adult") / "pairs.csv"
    build_from_folder(
        adult / "images", adult / "labels.csv", out, seed=0, fractions=(0.5, 0.15, 0.35)
    )
    return out


def test_evaluate_reproduces_the_cards_test_figures(
    card, shared_data, adult_pairs, tmp_path, capsys, monkeypatch
):
    monkeypatch.setenv("CXR_MODEL_DIR", str(SHIPPED_MODEL))
    pairs = shared_data / "cxr-pairs" / "pairs.csv"
    # the card's metrics are fp32's; int8's are checked by tests/test_int8.py
    assert (
        main(
            [
                "--precision",
                "fp32",
                "evaluate",
                "--data",
                str(pairs),
                "--split",
                "test",
                "--out",
                str(tmp_path),
                "--outside",
                str(adult_pairs),
                "--quiet",
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    measured = json.loads((tmp_path / "metrics.json").read_text())
    for head in ("fused", "image", "text"):
        for key, value in card["metrics"]["test"][head].items():
            assert measured[head][key] == pytest.approx(value, abs=1e-6), (head, key)
        assert measured[head]["ece"] <= 0.03 and card["metrics"]["val"][head]["ece"] <= 0.03
    assert "weighted avg" in printed
    for name in ("confusion_matrix.png", "roc_curves.png", "reliability.png"):
        assert (tmp_path / name).stat().st_size > 1000
    # the image guard: adults flagged, paediatric test and its 64 px control rarely
    guards, recorded = measured["guards"], card["ood"]["measured"]["test"]
    for key in ("flagged", "flagged_low_resolution", "outside_flagged", "n", "n_outside"):
        assert guards[key] == pytest.approx(recorded[key], abs=1e-9), key
    assert guards["outside_flagged"] >= 0.90
    assert guards["flagged"] <= 0.03
    assert guards["flagged_low_resolution"] <= 0.05
    corners = card["heatmap"]["measured"]["test"]
    assert measured["heatmap_corners"] == pytest.approx(corners, abs=1e-9)


# --------------------------------------------------------------------- the shipped adult model

ADULT_MODEL = SHIPPED_MODEL.parent / "adult"


def assert_same(measured, recorded, where: str = "") -> None:
    """Nested figures equal: floats to 1e-6, everything else exactly (paths aside)."""
    if isinstance(recorded, dict):
        assert set(measured) == set(recorded), where
        for key, value in recorded.items():
            if key != "outside":  # the CSV path as the command was given it
                assert_same(measured[key], value, f"{where}.{key}")
    elif isinstance(recorded, list):
        assert len(measured) == len(recorded), where
        for i, (got, value) in enumerate(zip(measured, recorded, strict=True)):
            assert_same(got, value, f"{where}[{i}]")
    elif isinstance(recorded, float):
        assert measured == pytest.approx(recorded, abs=1e-6), where
    else:
        assert measured == recorded, where


@pytest.fixture(scope="module")
def adult_512_pairs(shared_data, tmp_path_factory) -> Path:
    """adult-nih-512 as the adult card says it was split (its labels file's own split)."""
    from cxr_model.training.dataset_build import build_from_folder

    source = shared_data / "adult-nih-512"
    if not (source / "labels.csv").is_file():
        pytest.skip(f"adult-nih-512 not found in {shared_data}")
    out = tmp_path_factory.mktemp("adult512") / "pairs.csv"
    build_from_folder(source / "images", source / "labels.csv", out, keep_columns=("view",))
    return out


@pytest.mark.skipif(
    not (ADULT_MODEL / "model_card.json").is_file(), reason="no adult model in resources/models"
)
def test_the_adult_cards_test_figures_are_reproduced(adult_512_pairs, shared_data, tmp_path):
    """Every test figure of the adult card (heads, within each view, under each site shift, the
    guards, heatmap peaks) recomputed from the shipped files; the children it must refuse."""
    card = json.loads((ADULT_MODEL / "model_card.json").read_text())
    args = ["--model", str(ADULT_MODEL), "--precision", "fp32", "evaluate", "--split", "test"]
    args += ["--data", str(adult_512_pairs), "--by", "view", "--shifts", "--quiet"]
    args += ["--outside", str(shared_data / "cxr-pairs" / "pairs.csv"), "--out", str(tmp_path)]
    assert main(args) == 0
    measured = json.loads((tmp_path / "metrics.json").read_text())
    for head, figures in card["metrics"]["test"].items():
        assert_same(measured[head], figures, head)
    for section, key in (
        ("by_view", "by_view"),
        ("shifts", "shifts"),
        ("ood", "guards"),
        ("heatmap", "heatmap_corners"),
        ("ece_by_chance", "ece_by_chance"),
    ):
        assert_same(measured[key], card[section]["measured"]["test"], section)
    population = card["population"]
    assert population["age_years"][0] == 18 and population["trained_at_one_site"] is True
    assert measured["guards"]["outside_flagged"] >= 0.90  # paediatric test: children refused
    assert measured["guards"]["flagged"] <= 0.05
    assert card["int8"]["gates"]["passed"] is True  # the bundle ships it at int8
