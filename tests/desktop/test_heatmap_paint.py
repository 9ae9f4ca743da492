"""The viewer paints the small heatmap (model input size, coloured once) scaled by Qt, and it
looks like the full-resolution heatmap it replaced (issue 22)."""

from __future__ import annotations

import numpy as np
from desktop_helpers import WAIT_MS, open_and_wait, qimage_array

MEAN_DIFF = 1.0  # mean |difference| per channel, 0..255
P999_DIFF = 8  # 99.9th percentile of the |difference|


def painted(viewer) -> np.ndarray:
    """The viewer's viewport as painted now (RGB)."""
    viewer.viewport().repaint()
    return qimage_array(viewer.viewport().grab().toImage())[..., :3].astype(int)


def test_small_heatmap_paints_like_the_full_resolution_one(qtbot, window, fullres, model):
    open_and_wait(qtbot, window, fullres)
    window.heatmap.opacity_slider.setValue(80)
    window.heatmap.action.trigger()
    viewer = window.view.viewer
    qtbot.waitUntil(viewer.overlay_item.isVisible, timeout=WAIT_MS)
    small = viewer.heat
    assert small.shape == (model.spec.size, model.spec.size)
    full = model.heatmap(window.session.prediction, "abnormal")
    assert full.shape == viewer.image.pixels.shape
    assert full.max() > 0.5  # a visible heatmap
    viewer.resize(900, 760)
    for zoom in (None, 3.0):  # fitted, then zoomed in (overlay pixels much larger on screen)
        if zoom is not None:
            viewer.zoom(zoom)
            row, col = np.unravel_index(np.argmax(full), full.shape)
            viewer.centerOn(float(col), float(row))  # over the hottest spot
        ours = painted(viewer)
        viewer.set_heatmap(full)  # today's rendering: coloured at full resolution
        today = painted(viewer)
        viewer.set_overlay_visible(False)
        blank = painted(viewer)
        viewer.set_overlay_visible(True)
        viewer.set_heatmap(small)
        difference = np.abs(ours - today)
        assert np.abs(ours - blank).mean() > 4 * MEAN_DIFF  # the heatmap shows
        assert difference.mean() <= MEAN_DIFF, (zoom, difference.mean())
        assert np.percentile(difference, 99.9) <= P999_DIFF, (zoom, difference.max())
