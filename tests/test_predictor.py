"""The inference core on real X-rays: backends agree, Grad-CAM closed form, predictions."""

from __future__ import annotations

import numpy as np
import pytest

from cxr_model.imaging.reader import read_image
from cxr_model.inference.predictor import Prediction, heatmap, load_model

torch = pytest.importorskip("torch", reason="the torch backend needs the train extra")


@pytest.fixture(scope="module")
def model(model_dir):
    """The fp32 graph: the torch reference is fp32 (int8 has its gates, tests/test_int8.py)."""
    return load_model(model_dir, precision="fp32")


@pytest.fixture(scope="module")
def torch_model(model_dir):
    return load_model(model_dir, backend="torch")


@pytest.fixture(scope="module")
def xrays(sample_images, shared_data):
    """Real X-rays: the shipped samples plus a few full-resolution and 224 px ones."""
    fullres = sorted((shared_data / "fullres").glob("*.jpeg"))
    small = sorted((shared_data / "cxr-pairs" / "images").glob("*.jpeg"))
    return [*sample_images, fullres[0], fullres[-1], small[0], small[-1]]


def test_backends_agree_within_1e4(model, torch_model, xrays):
    for path in xrays:
        for report in (
            None,
            "Focal airspace opacity in the right lower lobe.",
            "The lungs are clear. No pleural effusion.",
        ):
            a, b = model.predict(path, report), torch_model.predict(path, report)
            assert a.used_report == b.used_report
            for field in ("probability", "image_probability"):
                assert getattr(a, field) == pytest.approx(getattr(b, field), abs=1e-4)
            if report is not None:
                assert a.text_probability == pytest.approx(b.text_probability, abs=1e-4)
            np.testing.assert_allclose(a.cam_raw, b.cam_raw, atol=1e-3, rtol=1e-4)


def test_closed_form_cam_matches_pytorch_grad_cam(model, torch_model, xrays):
    """ONNX closed form vs pytorch-grad-cam GradCAM on layer4 (Pearson >= 0.99)."""
    size = model.spec.size
    checked = 0
    for path in xrays:
        for report in (None, "Right lower lobe consolidation."):
            image = model.read(path)
            batch, text, has = model.network_inputs([model.prepare(image)], [report])
            prediction = model.predict(image, report)
            for target in ("abnormal", "normal"):
                ours = heatmap(prediction.cam_raw, target, size, (size, size))
                reference = torch_model.backend.gradcam(batch, text, has, target)
                if ours.std() < 1e-6 or reference.std() < 1e-6:
                    # both empty (ReLU removed every location) must agree too
                    assert ours.max() < 1e-6 and reference.max() < 1e-6
                    continue
                pearson = np.corrcoef(ours.ravel(), reference.ravel())[0, 1]
                assert pearson >= 0.99, (path.name, target, pearson)
                checked += 1
    assert checked >= len(xrays)


def test_prediction_fields_and_report_masking(model, sample_images):
    path = sample_images[0]
    without = model.predict(path)
    assert isinstance(without, Prediction)
    assert without.used_report is False and without.text_probability is None
    assert without.probability == without.image_probability
    assert without.discordant is False
    assert without.label in ("normal", "abnormal")
    assert (without.label == "abnormal") == (without.probability >= without.threshold)
    # an empty or token-free report is masked: the answer is the image-only one
    for blank in ("", "   \n", "!!! ...", None):
        assert model.predict(path, blank).probability == pytest.approx(without.probability)
    with_report = model.predict(path, "Patchy opacity at the left base, pneumonia.")
    assert with_report.used_report is True
    assert with_report.text_probability is not None
    assert with_report.image_probability == pytest.approx(without.image_probability, abs=1e-6)
    assert with_report.discordant == (
        (with_report.image_probability >= model.card.threshold("image"))
        != (with_report.text_probability >= model.card.threshold("text"))
    )


def test_cam_is_at_image_resolution_and_class_specific(model, fullres_images):
    path = fullres_images[0]
    full = read_image(path)
    abnormal = model.cam(path, target="abnormal")
    normal = model.cam(path, target="normal")
    assert abnormal.shape == full.pixels.shape == normal.shape
    assert 0.0 <= abnormal.min() and abnormal.max() <= 1.0
    # the two targets use opposite weights, so their hot spots cannot coincide everywhere
    assert not np.allclose(abnormal, normal)
    with pytest.raises(ValueError):
        model.cam(path, target="pneumothorax")


def test_batch_equals_single(model, xrays):
    images = [model.read(p) for p in xrays[:4]]
    reports = [None, "clear lungs", None, "opacity"]
    batch = model.predict_batch(images, reports)
    for image, report, got in zip(images, reports, batch, strict=True):
        single = model.predict(image, report)
        assert got.probability == pytest.approx(single.probability, abs=1e-5)
