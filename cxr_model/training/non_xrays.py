"""Images that are not chest X-rays, for checking the "is this a chest X-ray?" guard.

Photographs from scikit-image (they load offline), a rendered text page, a checkerboard,
noise, blank frames, and an inverted and a rotated copy of a real X-ray. Used by the OOD
tests and by the int8 gates (every one must stay flagged).
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from cxr_model.imaging.reader import XrayImage


def as_image(pixels: np.ndarray, name: str) -> XrayImage:
    """An 8-bit grey XrayImage of `pixels` (RGB(A) converted to grey), as a PNG would read."""
    pixels = np.asarray(pixels)
    if pixels.ndim == 3:
        pixels = np.asarray(Image.fromarray(pixels[..., :3]).convert("L"))
    pixels = pixels.astype(np.uint8)
    return XrayImage(
        pixels=pixels,
        window=(127.5, 255.0),
        bits=8,
        source=name,
        format="PNG",
        original_size=(pixels.shape[1], pixels.shape[0]),
        warnings=(),
    )


def rendered_text() -> np.ndarray:
    """A page of black text on white."""
    canvas = Image.new("L", (600, 800), 255)
    draw = ImageDraw.Draw(canvas)
    for line in range(30):
        draw.text((20, 20 + line * 25), "Patient consent form - please sign below " * 2, fill=0)
    return np.asarray(canvas)


def non_xrays(xray: np.ndarray) -> dict[str, np.ndarray]:
    """Name -> pixels of every non-X-ray; `xray` (8-bit grey) gives the inverted/rotated ones.

    Needs scikit-image (its bundled photographs).
    """
    from skimage import data

    rng = np.random.default_rng(0)
    return {
        "astronaut": data.astronaut(),
        "camera": data.camera(),
        "coffee": data.coffee(),
        "chelsea (cat)": data.chelsea(),
        "rocket": data.rocket(),
        "text page": rendered_text(),
        "checkerboard": data.checkerboard(),
        "noise": rng.integers(0, 256, (512, 512)),
        "blank white": np.full((512, 512), 255),
        "blank black": np.zeros((512, 512)),
        "inverted x-ray": 255 - xray,
        "x-ray rotated 90": np.rot90(xray).copy(),
    }
