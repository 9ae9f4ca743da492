"""'Is this a chest X-ray?': the OOD flag on real non-X-ray images and on the test split."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from cxr_model.inference.card import INT8_NAME, load_card
from cxr_model.inference.predictor import load_model
from cxr_model.training.dataset import read_examples
from cxr_model.training.non_xrays import as_image, non_xrays

pytest.importorskip("skimage.data", reason="scikit-image ships the photographs")


@pytest.fixture(scope="module", params=["fp32", "int8"])
def trained(request, model_dir):
    """The model in use at each precision (int8 where the folder has one)."""
    card = load_card(model_dir)
    if card.ood_threshold is None:
        pytest.skip("the model in use has no fitted OOD threshold (untrained fixture model)")
    if request.param == "int8" and INT8_NAME not in card.data["files"]:
        pytest.skip("the model in use has no int8 model (`cxr quantize` makes one)")
    return load_model(model_dir, precision=request.param)


def test_non_xray_images_are_flagged(trained, fullres_images):
    xray = np.asarray(Image.open(fullres_images[0]).convert("L"))
    missed = [
        name
        for name, pixels in non_xrays(xray).items()
        if not trained.predict(as_image(pixels, name)).ood
    ]
    assert not missed, f"not flagged as unlike a chest X-ray: {missed}"


def test_real_xrays_are_rarely_flagged(trained, shared_data, fullres_images):
    examples = read_examples(shared_data / "cxr-pairs" / "pairs.csv", "test")
    flagged = 0
    for start in range(0, len(examples), 32):
        chunk = examples[start : start + 32]
        predictions = trained.predict_batch(
            [trained.read(e.image) for e in chunk], [None] * len(chunk)
        )
        flagged += sum(bool(p.ood) for p in predictions)
    rate = flagged / len(examples)
    assert rate <= 0.03, f"{flagged} of {len(examples)} test X-rays flagged ({rate:.1%})"
    assert not any(trained.predict(path).ood for path in fullres_images)
