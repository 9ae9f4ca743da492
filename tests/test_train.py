"""Training pipeline smoke test on a small real subset (both stages, export, resume)."""

from __future__ import annotations

import json

import pytest

torch = pytest.importorskip("torch", reason="training needs the train extra")

from cxr_model.inference.predictor import load_model  # noqa: E402
from cxr_model.training.train import TrainConfig, augment, train  # noqa: E402


def test_train_small_subset_writes_a_loadable_model(shared_data, tmp_path, sample_images):
    cfg = TrainConfig(
        data=str(shared_data / "cxr-pairs" / "pairs.csv"),
        out=str(tmp_path),
        size=64,
        epochs=1,
        batch_size=16,
        text_epochs=2,
        limit=48,
    )
    model_dir = train(cfg)
    card = json.loads((model_dir / "model_card.json").read_text())
    assert set(card["text_mode_comparison"]) == {"sequence", "bag"}
    assert card["architecture"]["text_mode"] in ("sequence", "bag")
    assert card["input"]["size"] == 64
    assert set(card["calibration"]) == {"fused", "image", "text"}
    assert card["ood"]["threshold"] > 0
    assert "layout" not in card["ood"]  # window input: the Mahalanobis guard sees grey levels
    assert "test" not in card["metrics"]  # test is measured by `cxr evaluate`, never in training
    assert card["training"]["n_train"] == 48 and card["training"]["n_val"] == 48
    model = load_model(model_dir)
    prediction = model.predict(sample_images[0], "clear lungs")
    assert 0.0 <= prediction.probability <= 1.0
    assert prediction.ood is not None

    # resume: a second epoch continues from the checkpoint instead of starting again
    cfg.epochs = 2
    train(cfg, resume=True)
    card = json.loads((model_dir / "model_card.json").read_text())
    assert [h["epoch"] for h in card["training"]["stage1_history"]] == [1, 2]


def test_augment_keeps_shape_and_is_seeded():
    batch = torch.randn(4, 1, 32, 32)
    a = augment(batch, torch.Generator().manual_seed(1))
    b = augment(batch, torch.Generator().manual_seed(1))
    c = augment(batch, torch.Generator().manual_seed(2))
    assert a.shape == batch.shape
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_init_adapts_a_model_to_site_data_and_records_its_parent(
    shared_data, tmp_path, fixture_model_dir
):
    from cxr_model.cli import main
    from cxr_model.inference.card import WEIGHTS_NAME, load_card
    from cxr_model.training.dataset_build import build_from_folder

    adult = shared_data / "adult-nih-64"
    site = tmp_path / "site.csv"  # adult X-rays without reports, split by patient
    build_from_folder(adult / "images", adult / "labels.csv", site, seed=0)
    out = tmp_path / "adapted"
    assert (
        main(
            [
                "train",
                "--init",
                str(fixture_model_dir),
                "--data",
                str(site),
                "--out",
                str(out),
                "--epochs",
                "1",
                "--limit",
                "32",
                "--batch-size",
                "16",
                "--age-range",
                "18-100",
                "--quiet",
            ]
        )
        == 0
    )
    parent = load_card(fixture_model_dir)
    card = load_card(out / "model")
    assert card.data["parent"]["sha256"] == parent.data["files"][WEIGHTS_NAME]
    assert card.data["parent"]["name"] == parent.data["name"]
    assert card.data["training"]["counts"]["train"]["n"] == 32
    assert card.data["training"]["counts"]["train"]["with_report"] == 0
    assert card.age_range == (18.0, 101.0)
    population = card.data["population"]
    assert population["summary"].startswith("the site data site.csv (ages 18 to 100 years)")
    assert population["first_trained_on"] == {
        k: v for k, v in parent.data.get("population", {}).items() if k != "age_years"
    }
    # no site reports: the text branch and its calibration come from the parent
    assert set(card.data["inherited_from_parent"]) == {"fused", "text"}
    assert card.data["tokenizer"] == parent.data["tokenizer"]
    assert card.data["metrics"]["val"]["image"]["n"] == 32
    model = load_model(out / "model")
    prediction = model.predict(adult / "images" / "00000002_000.png")
    assert 0.0 <= prediction.probability <= 1.0 and prediction.ood_reason != "age"


def test_a_match_model_fits_its_guards_on_images_as_the_app_maps_them(
    shared_data, tmp_path, fixture_model_dir, monkeypatch
):
    from dataclasses import replace

    import numpy as np

    from cxr_model.inference.card import load_card
    from cxr_model.training import train as training
    from cxr_model.training.dataset import load_arrays, read_examples
    from cxr_model.training.dataset_build import build_from_folder

    adult = shared_data / "adult-nih-64"
    site = tmp_path / "site.csv"
    build_from_folder(adult / "images", adult / "labels.csv", site, seed=0)
    seen = {}

    def refit(*args, **kwargs):
        seen["train_images"] = kwargs["train_images"]
        return original(*args, **kwargs)

    original = training.refit
    monkeypatch.setattr(training, "refit", refit)
    cfg = TrainConfig(
        data=str(site),
        out=str(tmp_path / "run"),
        init=str(fixture_model_dir),
        intensity="match",
        epochs=1,
        batch_size=16,
        limit=16,
        quiet=True,
    )
    card = load_card(train(cfg))
    spec = card.input_spec
    assert spec.intensity == "match" and len(spec.reference) == 33
    assert card.layout_guard is not None  # the grey levels no longer tell photographs apart
    examples = training.subset(read_examples(site, "train"), 16, 0)
    shown = load_arrays(examples, spec)  # what the app feeds the network
    assert np.abs(seen["train_images"] - shown).mean() < 1e-3  # float rounding at bin edges
    as_displayed = load_arrays(examples, replace(spec, intensity="window", reference=()))
    assert np.abs(as_displayed - shown).mean() > 0.05  # the mapping is not a no-op here
