"""Heatmap colouring and blending: the one renderer used by the CLI and the GUI."""

from __future__ import annotations

import numpy as np

from cxr_model.imaging.reader import XrayImage

DEFAULT_OPACITY = 0.45


def _jet_lut() -> np.ndarray:
    x = np.linspace(0.0, 1.0, 256)
    channels = [np.clip(1.5 - np.abs(4.0 * x - c), 0.0, 1.0) for c in (3.0, 2.0, 1.0)]
    return (np.stack(channels, axis=1) * 255.0 + 0.5).astype(np.uint8)


COLORMAP = _jet_lut()  # (256, 3) uint8, blue (cold) -> red (hot)


def colorize(heatmap: np.ndarray) -> np.ndarray:
    """Heatmap in [0, 1] (H, W) -> RGB uint8 (H, W, 3)."""
    index = np.clip(heatmap * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return COLORMAP[index]


def blend(gray: np.ndarray, heatmap: np.ndarray, opacity: float = DEFAULT_OPACITY) -> np.ndarray:
    """Blend a heatmap over a uint8 grayscale image; cold areas stay see-through.

    Each pixel's alpha is opacity * heat, so the X-ray stays readable where the model
    did not look.
    """
    if gray.shape != heatmap.shape:
        raise ValueError(f"image {gray.shape} and heatmap {heatmap.shape} differ in size")
    alpha = (np.clip(opacity, 0.0, 1.0) * np.clip(heatmap, 0.0, 1.0))[..., None]
    base = np.repeat(gray[..., None], 3, axis=2).astype(np.float32)
    mixed = base * (1.0 - alpha) + colorize(heatmap).astype(np.float32) * alpha
    return (mixed + 0.5).astype(np.uint8)


def overlay_rgb(
    image: XrayImage, heatmap: np.ndarray, opacity: float = DEFAULT_OPACITY
) -> np.ndarray:
    """An X-ray in its default window with a heatmap of the same size blended over it."""
    gray = (image.to_unit() * 255.0 + 0.5).astype(np.uint8)
    return blend(gray, heatmap, opacity)
