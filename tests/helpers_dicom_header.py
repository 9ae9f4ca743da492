"""Test helper: a small real DICOM X-ray with chosen header values (on top of make_dicom)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
from helpers_dicom import make_dicom


def gradient(rows: int = 48, cols: int = 64) -> np.ndarray:
    """A 12-bit test image: a horizontal ramp, brighter in the middle rows."""
    ramp = np.linspace(0, 4000, cols)[None, :] * np.ones((rows, 1))
    ramp[rows // 3 : 2 * rows // 3] += 95
    return ramp.astype(np.uint16)


def write_dicom(dst: Path, pixels: np.ndarray | Path | None = None, **header) -> Path:
    """make_dicom(pixels) with each keyword of `header` set (None deletes it)."""
    make_dicom(gradient() if pixels is None else pixels, dst, bits=12)
    ds = pydicom.dcmread(dst)
    for keyword, value in header.items():
        if value is None:
            delattr(ds, keyword)
        else:
            setattr(ds, keyword, value)
    ds.save_as(dst)
    return Path(dst)
