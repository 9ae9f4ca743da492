"""A corpus of broken and tricky inputs, built at run time from real X-rays.

`build_corpus(folder, xray)` writes the files and returns {file name: expected outcome},
where the outcome is None for files that must load, or a phrase the error must contain.
Used by the CLI fault tests and by the bundle tests, so both meet the same files.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pydicom
from helpers_dicom import make_dicom
from PIL import Image

PYDICOM_FILES = Path(pydicom.__file__).parent / "data" / "test_files"
# JPEG 2000, RLE, JPEG baseline (colour), JPEG-LS lossless, multi-frame
COMPRESSED_DICOMS = (
    "JPEG2000.dcm",
    "MR_small_RLE.dcm",
    "SC_rgb_jpeg_dcmtk.dcm",
    "MR_small_jpeg_ls_lossless.dcm",
    "rtdose.dcm",
)


def _png_bomb(path: Path, width: int = 30000, height: int = 30000) -> None:
    """A tiny valid PNG header declaring width x height pixels."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    body = struct.pack(">I", len(ihdr)) + chunk + struct.pack(">I", zlib.crc32(chunk))
    idat = b"IDAT" + zlib.compress(b"\x00" * 64)
    body += struct.pack(">I", len(idat) - 4) + idat + struct.pack(">I", zlib.crc32(idat))
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + body)


def build_corpus(folder: Path, xray: Path) -> dict[str, str | None]:
    """Write the corpus into folder; `xray` is a real chest X-ray JPEG."""
    folder.mkdir(parents=True, exist_ok=True)
    gray = np.asarray(Image.open(xray).convert("L"))
    small = np.asarray(Image.fromarray(gray).resize((320, 256)))
    jpeg_bytes = xray.read_bytes()
    expected: dict[str, str | None] = {}

    def bad(name: str, data: bytes, reason: str) -> None:
        (folder / name).write_bytes(data)
        expected[name] = reason

    bad("empty.png", b"", "empty")
    bad("truncated.jpeg", jpeg_bytes[: len(jpeg_bytes) // 2], "truncated")
    Image.fromarray(small).save(folder / "whole.png")
    png = (folder / "whole.png").read_bytes()
    (folder / "whole.png").unlink()
    bad("truncated.png", png[: len(png) // 2], "truncated")
    bad("page.png", b"<!DOCTYPE html><html><body>hello</body></html>", "not an image")
    bad("notes.jpg", b"Findings: the lungs are clear.\n" * 20, "not an image")
    _png_bomb(folder / "bomb.png")
    expected["bomb.png"] = "megapixels"
    bad("no pixels.dcm", (PYDICOM_FILES / "rtplan.dcm").read_bytes(), "no pixel data")

    tricky = {
        "sixteen-bit.png": lambda p: Image.fromarray(small.astype(np.uint16) * 257).save(p),
        "rgba.png": lambda p: Image.fromarray(
            np.dstack([small, small, small, np.full_like(small, 255)]), "RGBA"
        ).save(p),
        "palette.png": lambda p: Image.fromarray(small).convert("P").save(p),
        "cmyk.jpg": lambda p: Image.fromarray(small).convert("CMYK").save(p),
        "exif-rotated.jpg": lambda p: Image.fromarray(small).save(p, exif=_rotated_exif()),
        "one-pixel.png": lambda p: Image.fromarray(np.array([[128]], np.uint8)).save(p),
        "jpeg named png.png": lambda p: p.write_bytes(jpeg_bytes),
        "mono1.dcm": lambda p: make_dicom(small, p, monochrome1=True),
        "Röntgen bild.dcm": lambda p: make_dicom(small, p),
    }
    for name, write in tricky.items():
        write(folder / name)
        expected[name] = None
    for name in COMPRESSED_DICOMS:
        (folder / name).write_bytes((PYDICOM_FILES / name).read_bytes())
        expected[name] = None
    return expected


def _rotated_exif() -> Image.Exif:
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees
    return exif
