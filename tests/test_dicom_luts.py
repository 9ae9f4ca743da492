"""The DICOM grayscale pipeline on a real X-ray: VOI LUT Sequence, SIGMOID VOI LUT Function,
Presentation LUT Shape and MONOCHROME1, each as other viewers show them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest
from helpers_dicom import make_dicom
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from cxr_model.imaging.reader import read_image

BITS = 12
TOP = 2**BITS - 1


@pytest.fixture(scope="module")
def stored(fullres_images: list[Path]) -> np.ndarray:
    """A real X-ray as 12-bit stored values (quarter size keeps the test quick)."""
    if not fullres_images:
        pytest.skip("no full-resolution X-rays in ../shared/data/fullres")
    from PIL import Image

    with Image.open(fullres_images[0]) as im:
        gray = np.asarray(im.convert("L").reduce(4), dtype=np.float64)
    return np.round(gray / 255.0 * TOP).astype(np.uint16)


def write(tmp_path: Path, stored: np.ndarray, name: str, **header: object) -> Path:
    return make_dicom(stored, tmp_path / f"{name}.dcm", bits=BITS, **header)


def add_voi_lut(path: Path, lut: np.ndarray, depth: int) -> None:
    ds = pydicom.dcmread(path)
    item = Dataset()
    item.LUTDescriptor = [len(lut), 0, depth]
    item.LUTData = [int(v) for v in lut]
    item["LUTData"].VR = "US"
    ds.VOILUTSequence = Sequence([item])
    ds.save_as(path)


def test_voi_lut_sequence_is_applied(tmp_path: Path, stored: np.ndarray) -> None:
    """A gamma-shaped 12-bit VOI LUT: the values read are the LUT's output, the window spans
    its output range. (12 bits: pydicom 3.0 indexes an 8-bit LUT of more than 256 entries
    with 8-bit indices.)"""
    lut = np.round((np.arange(TOP + 1) / TOP) ** 0.5 * TOP).astype(np.uint16)
    path = write(tmp_path, stored, "voi_lut")
    add_voi_lut(path, lut, depth=BITS)
    image = read_image(path)
    np.testing.assert_allclose(image.pixels, lut[stored], atol=0.5)
    assert image.window == (TOP / 2, TOP)
    plain = read_image(write(tmp_path, stored, "plain"))
    assert not np.allclose(image.to_unit(), plain.to_unit(), atol=0.05)  # not ignored


def test_sigmoid_voi_function(tmp_path: Path, stored: np.ndarray) -> None:
    """SIGMOID (PS3.3 C.11.2.1.3.1): the window centre maps to the middle of the output
    range, the curve is monotonic and bounded, and it is not the linear window."""
    center, width = 1800.0, 1200.0
    sigmoid = read_image(
        write(tmp_path, stored, "sigmoid", window=(center, width), VOILUTFunction="SIGMOID")
    )
    linear = read_image(write(tmp_path, stored, "linear", window=(center, width)))
    expected = TOP / (1 + np.exp(-4 * (stored.astype(np.float64) - center) / width))
    np.testing.assert_allclose(sigmoid.pixels, expected, atol=1.0)
    order = np.argsort(stored, axis=None)
    assert np.all(np.diff(sigmoid.pixels.ravel()[order]) >= -1e-3)
    assert sigmoid.window == (TOP / 2, TOP)
    assert linear.window == (center, width)
    assert not np.allclose(sigmoid.to_unit(), linear.to_unit(), atol=0.02)


def test_presentation_lut_shape_inverse(tmp_path: Path, stored: np.ndarray) -> None:
    """MONOCHROME2 with Presentation LUT Shape INVERSE shows inverted, window mirrored."""
    window = (1500.0, 2000.0)
    identity = read_image(
        write(tmp_path, stored, "identity", window=window, PresentationLUTShape="IDENTITY")
    )
    inverse = read_image(
        write(tmp_path, stored, "inverse", window=window, PresentationLUTShape="INVERSE")
    )
    np.testing.assert_array_equal(identity.pixels, stored)
    np.testing.assert_array_equal(inverse.pixels.astype(int), TOP - stored.astype(int))
    assert inverse.window == (TOP - window[0], window[1])
    np.testing.assert_allclose(inverse.to_unit(), 1.0 - identity.to_unit(), atol=1e-3)


def test_monochrome1_with_inverse_shape_inverts_once(tmp_path: Path, stored: np.ndarray) -> None:
    """DX files state MONOCHROME1 and Presentation LUT Shape INVERSE together: one inversion."""
    mono1 = read_image(write(tmp_path, stored, "mono1", monochrome1=True))
    both = read_image(
        write(tmp_path, stored, "both", monochrome1=True, PresentationLUTShape="INVERSE")
    )
    np.testing.assert_array_equal(mono1.pixels.astype(int), TOP - stored.astype(int))
    np.testing.assert_array_equal(both.pixels, mono1.pixels)
