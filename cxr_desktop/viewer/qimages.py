"""numpy arrays <-> QImage: the gray image and the heatmap overlay as the viewer paints them."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QImage

from cxr_model.inference.overlay import colorize


def gray_qimage(gray: np.ndarray) -> QImage:
    """uint8 (H, W) -> a QImage that owns a copy of the pixels."""
    gray = np.ascontiguousarray(gray)
    h, w = gray.shape
    return QImage(gray.data, w, h, w, QImage.Format.Format_Grayscale8).copy()


def overlay_rgba(heat: np.ndarray, opacity: float) -> np.ndarray:
    """Heatmap -> RGBA uint8: colours of `colorize`, alpha = opacity * heat (as in `blend`)."""
    rgba = np.empty((*heat.shape, 4), dtype=np.uint8)
    rgba[..., :3] = colorize(heat)
    alpha = np.clip(opacity, 0.0, 1.0) * np.clip(heat, 0.0, 1.0) * 255.0 + 0.5
    rgba[..., 3] = alpha.astype(np.uint8)
    return rgba


def rgba_qimage(rgba: np.ndarray) -> QImage:
    h, w = rgba.shape[:2]
    rgba = np.ascontiguousarray(rgba)
    return QImage(rgba.data, w, h, 4 * w, QImage.Format.Format_RGBA8888).copy()
