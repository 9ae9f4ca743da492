"""What a file is: supported suffixes, and the format named from its first bytes."""

from __future__ import annotations

import os
from pathlib import Path

from cxr_model.files import fspath

SUPPORTED_SUFFIXES: frozenset[str] = frozenset(
    {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".dcm", ".dicom"}
)
DICOM_SUFFIXES = frozenset({".dcm", ".dicom"})
SUFFIX_FORMAT = {
    ".png": "PNG",
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".tif": "TIFF",
    ".tiff": "TIFF",
    ".bmp": "BMP",
    ".dcm": "DICOM",
    ".dicom": "DICOM",
}
#: How many bytes `sniff` looks at.
HEAD_BYTES = 4096


def sniff(head: bytes) -> str | None:
    """Name the format from magic bytes: PNG/JPEG/TIFF/BMP/DICOM, 'TEXT', other name, or None."""
    if head[128:132] == b"DICM":  # first: a DICOM preamble may itself look like TIFF
        return "DICOM"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "TIFF"
    for magic, name in (
        (b"GIF87a", "GIF"),
        (b"GIF89a", "GIF"),
        (b"%PDF", "PDF"),
        (b"PK\x03\x04", "ZIP"),
        (b"\x00\x00\x00\x0cjP  ", "JPEG 2000"),
        (b"\xff\x4f\xff\x51", "JPEG 2000"),
        (b"\x1f\x8b", "gzip"),
    ):
        if head.startswith(magic):
            return name
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WebP"
    if looks_like_text(head):
        return "TEXT"
    if head.startswith(b"BM") and len(head) >= 26:
        return "BMP"
    return None


def looks_like_text(head: bytes) -> bool:
    """True for text, HTML or XML (a BOM, no NUL, nearly all printable)."""
    sample = head[:1024]
    if not sample:
        return False
    if sample.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")):
        return True
    if b"\x00" in sample:
        return False
    stripped = sample.lstrip().lower()
    if stripped.startswith((b"<!doctype", b"<html", b"<?xml", b"<svg", b"<head", b"<body")):
        return True
    text_bytes = sum(1 for b in sample if b >= 0x20 or b in (9, 10, 12, 13))
    return text_bytes / len(sample) > 0.97


def is_dicom_file(path: str | os.PathLike[str]) -> bool:
    """True when the file carries the DICOM Part 10 ``DICM`` marker at byte 128."""
    try:
        with open(fspath(path), "rb") as fh:
            fh.seek(128)
            return fh.read(4) == b"DICM"
    except Exception:
        return False


def is_supported(path: str | os.PathLike[str]) -> bool:
    """True for a supported suffix, or a DICOM file (by its marker) with any name."""
    try:
        suffix = Path(fspath(path)).suffix.lower()
    except Exception:
        return False
    return suffix in SUPPORTED_SUFFIXES or is_dicom_file(path)
