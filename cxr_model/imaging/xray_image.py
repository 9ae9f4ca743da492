"""The decoded X-ray every reader returns, and the default display window of its data."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True, eq=False)  # eq=False: compare/hash by identity (holds an array)
class XrayImage:
    """A decoded grayscale X-ray at full bit depth."""

    pixels: np.ndarray
    window: tuple[float, float]
    bits: int
    source: str
    format: str
    original_size: tuple[int, int]
    warnings: tuple[str, ...] = field(default_factory=tuple)
    #: DICOM header values (`cxr_model.imaging.dicom_meta.HEADER_KEYWORDS`); empty otherwise.
    meta: Mapping[str, str] = field(default_factory=dict)

    def to_unit(self, window: tuple[float, float] | None = None) -> np.ndarray:
        """Map ``[center - width/2, center + width/2]`` linearly to ``[0, 1]`` (clipped).

        Returns a float32 2-D array; ``window`` defaults to :attr:`window`.
        """
        return window_unit(self.pixels, self.window if window is None else window)


def window_unit(pixels: np.ndarray, window: tuple[float, float]) -> np.ndarray:
    """`pixels` through the window (center, width) onto ``[0, 1]`` (clipped), float32."""
    center, width = float(window[0]), float(window[1])
    if not math.isfinite(width) or width <= 0:
        width = 1e-6
    low = center - width / 2.0
    out = (pixels.astype(np.float32) - np.float32(low)) / np.float32(width)
    np.clip(out, 0.0, 1.0, out=out)
    return out.astype(np.float32, copy=False)


def data_window(pixels: np.ndarray) -> tuple[float, float]:
    """(center, width) covering the finite data range (width 1 for a flat image)."""
    finite = pixels if pixels.dtype.kind in "ui" else pixels[np.isfinite(pixels)]
    if finite.size == 0:
        return (0.5, 1.0)
    low, high = float(finite.min()), float(finite.max())
    width = high - low
    if width <= 0:
        width = 1.0
    return ((low + high) / 2.0, width)
