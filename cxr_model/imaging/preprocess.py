"""The one preprocessing function shared by training and inference."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from cxr_model.imaging.xray_image import window_unit

if TYPE_CHECKING:
    from cxr_model.imaging.reader import XrayImage

#: A big image is reduced by an integer factor to at least this many times the model input's
#: side before the final (antialiased bilinear) resize.
REDUCTION_MARGIN = 2


#: Per-image intensity mappings a card may ask for (`InputSpec.intensity`): "window" keeps
#: the display window's linear values, "equalise" equalises the histogram of each image and
#: "match" maps it onto the card's reference histogram (`InputSpec.reference`).
INTENSITIES = ("window", "equalise", "match")


@dataclass(frozen=True)
class InputSpec:
    """What the network expects: a square grayscale image, its grey levels mapped per image as
    `intensity` says, normalised with mean/std. `reference`: the grey levels at evenly
    spaced quantiles (0 to 1) that "match" maps every image onto."""

    size: int = 224
    mean: float = 0.5
    std: float = 0.25
    intensity: str = "window"
    reference: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if self.intensity not in INTENSITIES:
            raise ValueError(
                f"unknown input intensity {self.intensity!r} (known: {', '.join(INTENSITIES)})"
            )
        object.__setattr__(self, "reference", tuple(float(v) for v in self.reference))
        if len(self.reference) == 1 or np.any(np.diff(self.reference) < 0):
            raise ValueError("an input reference needs 2 or more rising grey levels")

    def to_dict(self) -> dict:
        """The card's `input` section (`intensity` only when it is not the default, so cards
        written before it existed stay as they were)."""
        spec = {"size": self.size, "mean": self.mean, "std": self.std}
        if self.intensity != "window":
            spec["intensity"] = self.intensity
        if self.reference:
            spec["reference"] = [round(v, 5) for v in self.reference]
        return spec


def equalise(unit: np.ndarray, levels: int = 256) -> np.ndarray:
    """Histogram equalisation of a [0, 1] image over `levels` grey levels: every monotone
    change of the grey levels (gamma, contrast, a site's look-up table) maps to about the
    same result."""
    bins = np.round(np.clip(unit, 0.0, 1.0) * (levels - 1)).astype(np.int64)
    cdf = np.cumsum(np.bincount(bins.ravel(), minlength=levels)).astype(np.float64)
    low = cdf[bins.min()]
    span = max(cdf[-1] - low, 1.0)
    return np.clip((cdf[bins] - low) / span, 0.0, 1.0).astype(np.float32)


def match_histogram(unit: np.ndarray, reference: tuple[float, ...]) -> np.ndarray:
    """`unit` mapped onto a reference histogram: each pixel's rank (the middle of its grey
    level's share, over 256 levels) becomes the reference's grey level at that quantile. As
    invariant to monotone grey-level changes as equalisation, but the result looks like a
    typical X-ray of the reference set."""
    bins = np.round(np.clip(unit, 0.0, 1.0) * 255).astype(np.int64)
    cdf = np.cumsum(np.bincount(bins.ravel(), minlength=256)).astype(np.float64)
    ranks = (cdf - np.diff(cdf, prepend=0.0) / 2) / cdf[-1]
    quantiles = np.linspace(0.0, 1.0, len(reference))
    return np.interp(ranks, quantiles, reference).astype(np.float32)[bins]


def reference_levels(units: list[np.ndarray], levels: int = 33) -> tuple[float, ...]:
    """The mean grey level at each of `levels` evenly spaced quantiles of these images: the
    reference `match_histogram` maps onto."""
    quantiles = np.linspace(0.0, 1.0, levels)
    curves = np.stack([np.quantile(np.clip(u, 0.0, 1.0), quantiles) for u in units])
    return tuple(float(v) for v in np.maximum.accumulate(curves.mean(axis=0)))


def map_intensity(unit: np.ndarray, spec: InputSpec) -> np.ndarray:
    """The card's per-image grey-level mapping of a [0, 1] image at the input size."""
    if spec.intensity == "equalise":
        return equalise(unit)
    if spec.intensity == "match":
        if not spec.reference:
            raise ValueError('input intensity "match" needs a reference')
        return match_histogram(unit, spec.reference)
    return unit


def resize_float(array: np.ndarray, width: int, height: int) -> np.ndarray:
    """Resize a 2-D float image to (height, width), bilinear (antialiased when shrinking)."""
    if array.shape == (height, width):
        return array.astype(np.float32, copy=False)
    pil = Image.fromarray(np.ascontiguousarray(array, dtype=np.float32), mode="F")
    return np.asarray(pil.resize((width, height), Image.Resampling.BILINEAR), dtype=np.float32)


def reduction_factor(shape: tuple[int, ...], size: int) -> int:
    """The largest integer factor that keeps the shorter side >= REDUCTION_MARGIN * size."""
    return max(1, min(shape[:2]) // (REDUCTION_MARGIN * size))


def block_mean(pixels: np.ndarray, factor: int) -> np.ndarray:
    """Mean of each `factor` x `factor` block as float32 (`pixels` itself when factor is 1).

    Rows are summed first, then columns, in an integer accumulator for integer pixels (exact);
    the last rows and columns that do not fill a block are left out (under `factor` pixels).
    """
    if factor <= 1:
        return pixels
    height = pixels.shape[0] // factor * factor
    width = pixels.shape[1] // factor * factor
    if pixels.dtype.kind == "f":
        acc = np.float64
    elif pixels.dtype.kind in "ub" and pixels.dtype.itemsize <= 2:
        acc = np.uint32  # factor <= 256 cannot overflow
    else:
        acc = np.int64
    block = pixels[:height, :width]
    rows = np.add(block[0::factor], block[1::factor], dtype=acc)
    for i in range(2, factor):
        rows += block[i::factor]
    sums = np.add(rows[:, 0::factor], rows[:, 1::factor])
    for j in range(2, factor):
        sums += rows[:, j::factor]
    return sums.astype(np.float32) * np.float32(1.0 / (factor * factor))


def preprocess(image: XrayImage, spec: InputSpec) -> np.ndarray:
    """Grayscale X-ray -> float32 array (1, size, size), normalised as the model card says.

    A big image is first reduced by an integer factor on its stored values (`block_mean`),
    then windowed and resized, so only one cheap pass touches every pixel.
    """
    reduced = block_mean(image.pixels, reduction_factor(image.pixels.shape, spec.size))
    unit = resize_float(window_unit(reduced, image.window), spec.size, spec.size)
    unit = map_intensity(unit, spec)
    return ((unit - spec.mean) / spec.std)[None].astype(np.float32, copy=False)


#: Side of the low-resolution control: shrunk to this, then enlarged to the model input.
LOW_RES_SIDE = 64


def low_resolution(array: np.ndarray, side: int = LOW_RES_SIDE) -> np.ndarray:
    """A preprocessed image (1, S, S) shrunk to `side` px and enlarged again: the control that
    tells a guard that separates populations from one that only detects blur."""
    size = array.shape[-1]
    return resize_float(resize_float(array[0], side, side), size, size)[None]
