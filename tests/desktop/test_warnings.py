"""The result panel's warnings with the trained model: not an X-ray, image vs report."""

from __future__ import annotations

import pytest
from desktop_helpers import WAIT_MS, open_and_wait
from PIL import Image

from cxr_desktop.panels.result_panel import percent

skimage_data = pytest.importorskip("skimage.data", reason="scikit-image ships the photographs")


def wait_result(qtbot, window):
    qtbot.waitUntil(lambda: window.inference.panel.prediction is not None, timeout=WAIT_MS)
    return window.inference.panel.prediction


def test_photo_gets_the_not_an_xray_warning(qtbot, window, tmp_path):
    if window.session.card.ood_threshold is None:
        pytest.skip("the model in use has no OOD threshold (untrained fixture model)")
    photo = tmp_path / "holiday photo.png"
    Image.fromarray(skimage_data.astronaut()).save(photo)
    open_and_wait(qtbot, window, photo)
    prediction = wait_result(qtbot, window)
    assert prediction.ood is True
    panel = window.inference.panel
    assert panel.ood.isVisible() and "chest X-ray" in panel.ood.text()


def test_discordant_warning_follows_the_prediction(qtbot, window, sample_with_report):
    open_and_wait(qtbot, window, sample_with_report)
    prediction = wait_result(qtbot, window)
    assert prediction.used_report
    assert window.inference.panel.discordant.isVisible() == prediction.discordant
    assert window.inference.panel.ood.isVisible() == bool(prediction.ood)
    # an X-ray is not flagged as unlike an X-ray
    if window.session.card.ood_threshold is not None:
        assert prediction.ood is False
    # the image-only and report-only numbers shown are those of the prediction
    panel = window.inference.panel
    assert panel.image_only.text() == f"Image only: {percent(prediction.image_probability)}"
    assert panel.text_only.text() == f"Report only: {percent(prediction.text_probability)}"
