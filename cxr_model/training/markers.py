"""Side-marker augmentation: letters burned in near the film's edge ("R", "L") and erased
edge strips, so the image branch cannot use a site's marker style or the area outside the
body as evidence (the paediatric training films carry such markers)."""

from __future__ import annotations

from functools import cache

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

MARKER_TEXTS = ("R", "L")
#: Glyph heights as a share of the image height.
MARKER_HEIGHTS = (0.06, 0.08, 0.10, 0.12)
P_MARKER = 0.5
P_ERASE = 0.25


@cache
def glyph(text: str, height: int) -> torch.Tensor:
    """A white-on-black rendering of `text`, cropped to its ink, values in [0, 1]."""
    font = ImageFont.load_default(size=max(4, int(height * 1.3)))
    canvas = Image.new("L", (height * 2 * len(text) + 8, height * 2 + 8), 0)
    ImageDraw.Draw(canvas).text((4, 4), text, font=font, fill=255)
    box = canvas.getbbox() or (0, 0, 1, 1)
    return torch.from_numpy(np.asarray(canvas.crop(box), dtype=np.float32) / 255.0)


def _uniform(generator: torch.Generator, low: float, high: float) -> float:
    return low + (high - low) * float(torch.rand(1, generator=generator))


def _choice(generator: torch.Generator, options: tuple):
    return options[int(torch.randint(len(options), (1,), generator=generator))]


def add_markers(batch: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """A copy of `batch` (B,1,S,S) where each image may get a bright letter near its left or
    right edge (P_MARKER) and may have an edge strip set to its darkest value (P_ERASE)."""
    out = batch.clone()
    size = batch.shape[-1]
    for image in out:
        plane = image[0]
        if float(torch.rand(1, generator=generator)) < P_MARKER:
            mask = glyph(
                _choice(generator, MARKER_TEXTS),
                max(4, int(size * _choice(generator, MARKER_HEIGHTS))),
            )
            h, w = mask.shape
            h, w = min(h, size), min(w, size)
            margin = int(size * _uniform(generator, 0.01, 0.10))
            left = float(torch.rand(1, generator=generator)) < 0.5
            x = margin if left else max(0, size - margin - w)
            y = int((size - h) * _uniform(generator, 0.03, 0.6))
            value = float(plane.max()) * _uniform(generator, 0.85, 1.0)
            region = plane[y : y + h, x : x + w]
            m = mask[:h, :w]
            plane[y : y + h, x : x + w] = region * (1 - m) + value * m
        if float(torch.rand(1, generator=generator)) < P_ERASE:
            width = max(1, int(size * _uniform(generator, 0.04, 0.12)))
            strip = (
                slice(0, width)
                if float(torch.rand(1, generator=generator)) < 0.5
                else slice(size - width, size)
            )
            plane[:, strip] = plane.min()
    return out
