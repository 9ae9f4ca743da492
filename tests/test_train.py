"""Training pipeline smoke test on a small real subset (both stages, export, resume)."""

from __future__ import annotations

import json

import pytest

torch = pytest.importorskip("torch", reason="training needs the train extra")

from cxr_model.inference.predictor import load_model  # noqa: E402
from cxr_model.training.train import TrainConfig, augment, train  # noqa: E402


def test_train_small_subset_writes_a_loadable_model(shared_data, tmp_path, sample_images):
    cfg = TrainConfig(data=str(shared_data / "cxr-pairs" / "pairs.csv"), out=str(tmp_path),
                      size=64, epochs=1, batch_size=16, text_epochs=2, limit=48)
    model_dir = train(cfg)
    card = json.loads((model_dir / "model_card.json").read_text())
    assert set(card["text_mode_comparison"]) == {"sequence", "bag"}
    assert card["architecture"]["text_mode"] in ("sequence", "bag")
    assert card["input"]["size"] == 64
    assert set(card["calibration"]) == {"fused", "image", "text"}
    assert card["ood"]["threshold"] > 0
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
