"""The layout guard (`inference.layout`): where an image's bright and dark parts sit, against
the training X-rays', for models whose grey-level mapping hides what a photograph looks like."""

from __future__ import annotations

import csv
import json
import shutil

import numpy as np
import pytest

from cxr_model.imaging.preprocess import InputSpec, preprocess
from cxr_model.imaging.reader import read_image
from cxr_model.inference.card import load_card, write_card
from cxr_model.inference.layout import GRID, LayoutGuard, fit_layout_guard, layout_vectors
from cxr_model.inference.predictor import load_model
from cxr_model.training.non_xrays import as_image

SPEC = InputSpec(size=64, intensity="equalise")


@pytest.fixture(scope="module")
def adult(shared_data):
    """Real adult X-rays of adult-nih-512 by split (train, val), read near 224 px."""
    folder = shared_data / "adult-nih-512"
    with open(folder / "labels.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return {
        split: [
            read_image(folder / "images" / r["filename"], max_side=224)
            for r in rows
            if r["split"] == split
        ]
        for split in ("train", "val")
    }


def inputs(images, spec: InputSpec) -> np.ndarray:
    return np.stack([preprocess(image, spec) for image in images])


def test_layout_vectors_are_the_grid_of_block_means():
    array = np.arange(64 * 64, dtype=np.float32).reshape(1, 1, 64, 64)
    vectors = layout_vectors(array)
    assert vectors.shape == (1, GRID * GRID)
    assert vectors[0, 0] == pytest.approx(array[0, 0, :8, :8].mean())
    assert vectors[0, -1] == pytest.approx(array[0, 0, -8:, -8:].mean())


def test_a_film_on_its_side_and_a_photograph_are_off_the_layout(adult):
    val = inputs(adult["val"], SPEC)
    section = fit_layout_guard(inputs(adult["train"], SPEC), val)
    assert section["val_flagged"] <= 0.02
    guard = LayoutGuard.from_card(json.loads(json.dumps(section)))  # as the card stores it
    turned = np.rot90(val, axes=(2, 3)).copy()
    assert (guard.distances(turned) > guard.threshold).mean() >= 0.9
    from skimage import data

    coffee = preprocess(as_image(data.coffee(), "coffee"), SPEC)[None]
    assert guard.distances(coffee)[0] > guard.threshold


def test_the_model_flags_what_its_layout_guard_rejects(fixture_model_dir, adult, tmp_path):
    folder = tmp_path / "model"
    shutil.copytree(fixture_model_dir, folder)
    card = load_card(folder)
    spec = card.input_spec
    # only the layout guard decides: the Mahalanobis limit is out of reach, no detector
    layout = fit_layout_guard(inputs(adult["train"], spec), inputs(adult["val"], spec))
    write_card(folder, {**card.data, "ood": {"threshold": 1e30, "layout": layout}})
    model = load_model(folder)
    upright = next(i for i in adult["val"] if not model.predict(i).ood)  # 99% of val
    pixels = np.rot90((upright.to_unit() * 255).astype(np.uint8)).copy()
    prediction = model.predict(as_image(pixels, "turned"))
    assert prediction.ood is True and prediction.ood_reason == "image"
