"""'Is this a chest X-ray?': the OOD flag on real non-X-ray images and on the test split."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from cxr_model.imaging.reader import XrayImage
from cxr_model.training.dataset import read_examples

skimage_data = pytest.importorskip("skimage.data", reason="scikit-image ships the photographs")


@pytest.fixture(scope="module")
def trained(model):
    if model.card.ood_threshold is None:
        pytest.skip("the model in use has no fitted OOD threshold (untrained fixture model)")
    return model


def as_image(pixels: np.ndarray, name: str) -> XrayImage:
    pixels = np.asarray(pixels)
    if pixels.ndim == 3:
        pixels = np.asarray(Image.fromarray(pixels[..., :3]).convert("L"))
    pixels = pixels.astype(np.uint8)
    return XrayImage(pixels=pixels, window=(127.5, 255.0), bits=8, source=name, format="PNG",
                     original_size=(pixels.shape[1], pixels.shape[0]), warnings=())


def rendered_text() -> np.ndarray:
    canvas = Image.new("L", (600, 800), 255)
    draw = ImageDraw.Draw(canvas)
    for line in range(30):
        draw.text((20, 20 + line * 25), "Patient consent form - please sign below " * 2, fill=0)
    return np.asarray(canvas)


def non_xrays(xray: np.ndarray) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {
        "astronaut": skimage_data.astronaut(),
        "camera": skimage_data.camera(),
        "coffee": skimage_data.coffee(),
        "chelsea (cat)": skimage_data.chelsea(),
        "rocket": skimage_data.rocket(),
        "text page": rendered_text(),
        "checkerboard": skimage_data.checkerboard(),
        "noise": rng.integers(0, 256, (512, 512)),
        "blank white": np.full((512, 512), 255),
        "blank black": np.zeros((512, 512)),
        "inverted x-ray": 255 - xray,
        "x-ray rotated 90": np.rot90(xray).copy(),
    }


def test_non_xray_images_are_flagged(trained, fullres_images):
    xray = np.asarray(Image.open(fullres_images[0]).convert("L"))
    missed = [name for name, pixels in non_xrays(xray).items()
              if not trained.predict(as_image(pixels, name)).ood]
    assert not missed, f"not flagged as unlike a chest X-ray: {missed}"


def test_real_xrays_are_rarely_flagged(trained, shared_data, fullres_images):
    examples = read_examples(shared_data / "cxr-pairs" / "pairs.csv", "test")
    flagged = 0
    for start in range(0, len(examples), 32):
        chunk = examples[start:start + 32]
        predictions = trained.predict_batch([trained.read(e.image) for e in chunk],
                                            [None] * len(chunk))
        flagged += sum(bool(p.ood) for p in predictions)
    rate = flagged / len(examples)
    assert rate <= 0.03, f"{flagged} of {len(examples)} test X-rays flagged ({rate:.1%})"
    assert not any(trained.predict(path).ood for path in fullres_images)
