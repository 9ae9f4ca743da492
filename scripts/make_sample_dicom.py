"""Make the shipped sample DICOM from a shipped sample JPEG (run once; output is committed).

    .venv/bin/python scripts/make_sample_dicom.py

Writes resources/samples/NORMAL2-IM-1438-0001.dcm: the real X-ray at half size, 12 bits
stored, RLE Lossless transfer syntax, with a VOI window, so the app and the bundle prove a
compressed 12-bit DICOM end to end.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pydicom
from PIL import Image
from pydicom.uid import RLELossless

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from helpers_dicom import make_dicom  # noqa: E402


def main() -> None:
    src = ROOT / "resources" / "samples" / "NORMAL2-IM-1438-0001.jpeg"
    out = src.with_suffix(".dcm")
    with Image.open(src) as im:
        half = im.convert("L").resize((im.width // 2, im.height // 2), Image.Resampling.LANCZOS)
    make_dicom(np.asarray(half), out, bits=12, window=(2048.0, 4096.0))  # scales to 12 bits
    ds = pydicom.dcmread(out)
    ds.compress(RLELossless)
    ds.save_as(out)
    print(f"wrote {out} ({out.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
