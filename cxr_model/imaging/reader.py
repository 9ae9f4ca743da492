"""One image reader for every supported chest X-ray file (PNG, JPEG, TIFF, BMP, DICOM).

``read_image`` returns an :class:`XrayImage` holding 2-D grayscale pixels at full bit depth
plus a default display window; ``read_image_bytes`` does the same for a file's bytes already
in memory, ``read_dataset`` for a DICOM dataset received over the network. The format is
named from the content (`sniff`), then decoded by Pillow (`pil_image`) or pydicom
(`dicom_image`). Every failure is an :class:`~cxr_model.errors.ImageReadError` with a reason
a person understands; nothing else escapes. Sizes are checked against :data:`MAX_PIXELS`
from the header, before any pixel buffer is allocated.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from pathlib import Path
from typing import IO

from pydicom.dataset import Dataset

from cxr_model.errors import ImageReadError, RefusedError
from cxr_model.files import fspath, open_binary, read_guarded, stat_regular
from cxr_model.imaging.dicom_image import dataset_image, read_dicom
from cxr_model.imaging.limits import MAX_PIXELS, bomb_reason
from cxr_model.imaging.pil_image import read_pil
from cxr_model.imaging.sniff import (
    DICOM_SUFFIXES,
    HEAD_BYTES,
    SUFFIX_FORMAT,
    SUPPORTED_SUFFIXES,
    is_dicom_file,
    is_supported,
    sniff,
)
from cxr_model.imaging.xray_image import XrayImage

__all__ = [
    "MAX_PIXELS",
    "SUPPORTED_SUFFIXES",
    "XrayImage",
    "is_dicom_file",
    "is_supported",
    "read_image",
    "read_image_bytes",
    "read_dataset",
]

_CORRUPT = "file is truncated or corrupt"


def read_image(path: str | os.PathLike[str], *, max_side: int | None = None) -> XrayImage:
    """Read any supported image as 2-D grayscale at full bit depth.

    ``max_side`` is a hint that the caller only needs an image whose shorter side is at least
    ``max_side`` pixels: JPEGs far larger than that are decoded at reduced scale (PIL draft
    mode). Other formats ignore it. ``original_size`` always reports the full stored size.

    Raises :class:`ImageReadError` for every failure, and nothing else.
    """
    try:
        source = fspath(path)
    except Exception:
        raise ImageReadError(f"not a file path: {path!r}") from None
    return _guarded(source, lambda: _read_file(source, max_side))


def read_image_bytes(data: bytes, source: str, *, max_side: int | None = None) -> XrayImage:
    """Decode a file's bytes already in memory exactly as :func:`read_image` decodes the file.

    For callers that fetched the bytes themselves (a cluster's file reader). ``source`` names
    the file in error messages and on the result; its suffix counts as the file's. Raises
    :class:`ImageReadError` for every failure, and nothing else.
    """
    return _guarded(source, lambda: _decode(io.BytesIO(data), source, len(data), max_side))


def read_dataset(ds: Dataset, source: str) -> XrayImage:
    """Decode a DICOM dataset already in memory (received over the network, with its file
    meta) with the checks :func:`read_image` makes of a file; ``source`` names it. Raises
    :class:`ImageReadError` for every failure, and nothing else."""
    return _guarded(source, lambda: dataset_image(ds, source))


def _guarded(source: str, read: Callable[[], XrayImage]) -> XrayImage:
    """The one error boundary: every failure of `read` is an ImageReadError naming `source`."""
    return read_guarded(
        source, read, ImageReadError, "decode the image", _CORRUPT, limits=bomb_reason
    )


def _read_file(source: str, max_side: int | None) -> XrayImage:
    st = stat_regular(source)
    if st.st_size == 0:
        raise RefusedError("file is empty")
    with open_binary(source) as fh:
        return _decode(fh, source, st.st_size, max_side)


def _decode(fh: IO[bytes], source: str, size: int, max_side: int | None) -> XrayImage:
    """Sniff the format from the first bytes of ``fh`` (``size`` bytes long) and decode it."""
    try:
        head = fh.read(HEAD_BYTES)
    except IsADirectoryError:
        raise RefusedError("is a directory") from None
    except PermissionError:
        raise RefusedError("permission denied") from None
    if not head:
        raise RefusedError("file is empty")
    suffix = Path(source).suffix.lower()
    kind = sniff(head)
    notes: list[str] = []
    if kind is None and suffix in DICOM_SUFFIXES:
        kind = "DICOM-NOMARKER"  # DICOM without preamble: let pydicom try (force=True)
    if kind == "TEXT":
        raise RefusedError("not an image: looks like HTML/text")
    if kind is None:
        raise RefusedError("unsupported format (content not recognised as an image)")
    if kind not in ("PNG", "JPEG", "TIFF", "BMP", "DICOM", "DICOM-NOMARKER"):
        raise RefusedError(f"unsupported format ({kind})")
    fmt = "DICOM" if kind.startswith("DICOM") else kind
    expected = SUFFIX_FORMAT.get(suffix)
    if expected is not None and expected != fmt:
        notes.append(f"file extension {suffix} does not match its content ({fmt})")
    fh.seek(0)
    if fmt == "DICOM":
        return read_dicom(fh, source, size, notes, force=kind == "DICOM-NOMARKER")
    return read_pil(fh, source, fmt, max_side, notes)
