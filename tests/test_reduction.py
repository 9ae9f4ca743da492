"""The model input of a big image is reduced by an integer factor first (issue 22): the
reduction is exact, small images are untouched, and on real X-rays (full-resolution JPEGs and
16-bit DICOMs made from them, up to 2500x2048) the input and the predictions stay those of
the full-precision resize."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from benchmarks.data import detector_dicom
from benchmarks.reduction_gates import full_precision_input
from cxr_model.imaging.preprocess import block_mean, preprocess, reduction_factor
from cxr_model.imaging.reader import read_image
from cxr_model.inference.predictor import Prepared
from tests.helpers_dicom import make_dicom

MAX_INPUT_DIFF = 0.12  # largest |difference| of one input pixel, in [0, 1] window units
MEAN_INPUT_DIFF = 0.005
MAX_PROBABILITY_DIFF = 0.03


def naive_block_mean(pixels: np.ndarray, k: int) -> np.ndarray:
    h, w = pixels.shape[0] // k * k, pixels.shape[1] // k * k
    block = pixels[:h, :w].astype(np.float64).reshape(h // k, k, w // k, k)
    return block.mean(axis=(1, 3))


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int16, np.int32, np.float32, bool])
@pytest.mark.parametrize("shape", [(64, 48), (67, 53)])
def test_block_mean_is_the_exact_mean(dtype, shape):
    rng = np.random.default_rng(0)
    if dtype is bool:
        pixels = rng.random(shape) > 0.5
    elif np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        pixels = rng.integers(max(info.min, -30000), min(info.max, 65535), shape, dtype=dtype)
    else:
        pixels = rng.normal(100.0, 50.0, shape).astype(dtype)
    for k in (2, 3, 4):
        out = block_mean(pixels, k)
        assert out.dtype == np.float32
        np.testing.assert_allclose(out, naive_block_mean(pixels, k), rtol=1e-6, atol=1e-6)
    assert block_mean(pixels, 1) is pixels


def test_reduction_factor_keeps_twice_the_model_input():
    assert reduction_factor((224, 224), 224) == 1
    assert reduction_factor((447, 1000), 224) == 1
    assert reduction_factor((2048, 2500), 224) == 4
    assert reduction_factor((1416, 1776), 224) == 3
    for shape in ((2048, 2500), (900, 3000), (5000, 4000)):
        k = reduction_factor(shape, 224)
        assert min(shape) // k >= 2 * 224


def test_small_and_drafted_images_are_untouched(model, fullres_images, sample_images):
    """224 px files (the training/val/test sets) and JPEGs drafted near the input size are
    not reduced: their model input is today's, bit for bit."""
    for path in [*sample_images[:2], *fullres_images[:3]]:
        image = model.read(path)
        assert reduction_factor(image.pixels.shape, model.spec.size) == 1
        np.testing.assert_array_equal(
            preprocess(image, model.spec), full_precision_input(image, model)
        )


@pytest.fixture(scope="module")
def big_studies(fullres_images, tmp_path_factory) -> list[Path]:
    """Each full-resolution X-ray as a full-resolution JPEG, as a 16-bit DICOM at its own
    size, a windowed one, and a 16-bit DICOM at detector size (2500x2048)."""
    out = tmp_path_factory.mktemp("big")
    files: list[Path] = []
    for src in fullres_images:
        files.append(src)
        files.append(make_dicom(src, out / f"{src.stem}-16.dcm"))
        files.append(make_dicom(src, out / f"{src.stem}-win.dcm", window=(30000.0, 40000.0)))
        files.append(detector_dicom(src, out / f"{src.stem}-detector.dcm"))
    return files


def test_reduced_input_keeps_the_answers(model, big_studies):
    """New input vs the full-precision one on real X-rays: pixels close, predictions close."""
    reduced = 0
    diffs, probabilities, labels = [], [], []
    for path in big_studies:
        image = read_image(path) if path.suffix == ".jpeg" else model.read(path)
        factor = reduction_factor(image.pixels.shape, model.spec.size)
        reduced += factor > 1
        new, old = preprocess(image, model.spec), full_precision_input(image, model)
        diff = np.abs(new - old) * model.spec.std  # back to window units
        diffs.append((diff.max(), diff.mean()))
        a, b = model.predict_batch(
            [Prepared(new, image.original_size), Prepared(old, image.original_size)],
            [None, None],
        )
        probabilities.append(abs(a.probability - b.probability))
        labels.append(a.label == b.label)
        assert image.original_size[0] >= 900, path.name
    assert reduced >= 3 * len(big_studies) // 4  # the DICOMs (and the read JPEGs) reduce
    worst, mean = max(d[0] for d in diffs), max(d[1] for d in diffs)
    assert worst <= MAX_INPUT_DIFF, worst
    assert mean <= MEAN_INPUT_DIFF, mean
    assert max(probabilities) <= MAX_PROBABILITY_DIFF, max(probabilities)
    assert sum(labels) >= 0.9 * len(labels), sum(labels)


@pytest.mark.parametrize("bits", [16, 12, 8])
def test_dicom_pixels_are_pydicoms_without_a_copy(fullres_images, tmp_path, bits):
    """Uncompressed DICOM pixels are read as a view on the file's bytes (16 of 16 bits) or
    corrected copies (12 of 16), equal to pydicom's own decoded array either way."""
    import pydicom

    path = make_dicom(fullres_images[0], tmp_path / f"x{bits}.dcm", bits=bits)
    image = read_image(path)
    np.testing.assert_array_equal(image.pixels, pydicom.dcmread(path).pixel_array)
    assert image.pixels.flags.writeable == (bits == 12)  # a view unless bits were corrected
