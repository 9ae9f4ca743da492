"""DICOM pixels through pydicom: header checks first, then the first frame in grayscale.

The grayscale values follow the standard's pipeline with pydicom's own transforms: the
Modality LUT (`apply_modality_lut`), then the VOI transform. A linear window (the common case)
is kept as the image's default window over the modality values, so window/level works on the
real data; a VOI LUT Sequence or a SIGMOID VOI LUT Function is applied (`apply_voi_lut`) and
its output becomes the values, with a window over its output range. MONOCHROME1 and a
Presentation LUT Shape of INVERSE display inverted; a Presentation LUT Sequence is applied
(`apply_presentation_lut`) after the VOI transform.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import IO, Any

import numpy as np
import pydicom
from pydicom.dataset import FileMetaDataset
from pydicom.pixels import apply_color_lut, apply_modality_lut
from pydicom.pixels.processing import apply_presentation_lut, apply_voi_lut
from pydicom.uid import (
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
)

from cxr_model.errors import RefusedError
from cxr_model.files import FATAL, describe
from cxr_model.imaging.dicom_meta import header_values
from cxr_model.imaging.limits import check_size
from cxr_model.imaging.xray_image import XrayImage, data_window

_PIXEL_KEYWORDS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")


def read_dicom(
    fh: IO[bytes], source: str, file_size: int, notes: list[str], *, force: bool
) -> XrayImage:
    """Decode the first frame of a DICOM file: header checks before any pixel is read, then
    the modality, VOI and presentation transforms (`display_values`)."""

    # 1) Header only: large values (the pixel data) are not read into memory.
    try:
        ds = pydicom.dcmread(fh, defer_size=1024, force=force)
    except Exception as exc:
        if force:
            raise RefusedError(f"not a valid DICOM file ({describe(exc)})") from None
        raise RefusedError(
            f"file is truncated or corrupt (DICOM header: {describe(exc)})"
        ) from None
    # 2) The header describes pixels we can decode, and the file holds them.
    check_header(ds, file_size, force=force)

    # 3) Checks passed: read fully and decode only the first frame.
    fh.seek(0)
    ds = pydicom.dcmread(fh, force=force)
    ensure_transfer_syntax(ds)
    return decode_dataset(ds, source, notes)


def dataset_image(ds: Any, source: str) -> XrayImage:
    """Decode the first frame of a dataset already in memory (received over the network), with
    the header checks `read_dicom` makes of a file."""
    check_header(ds, None, force=False)
    return decode_dataset(ds, source, [])


def _header_int(ds: Any, keyword: str, default: int | None = None) -> int:
    value = ds.get(keyword, default)
    if value is None or value == "":
        if default is None:
            raise RefusedError(f"DICOM header is missing {keyword}")
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise RefusedError(f"DICOM header has an invalid {keyword} ({value!r})") from None


def check_header(ds: Any, file_size: int | None, *, force: bool) -> None:
    """RefusedError unless the header describes pixels we can decode within the limits and, for
    a file of `file_size` bytes read with deferred values, its pixel data is all there."""
    pixel_kw = next((kw for kw in _PIXEL_KEYWORDS if kw in ds), None)
    if pixel_kw is None and force and "SOPClassUID" not in ds:
        raise RefusedError("not a valid DICOM file (no DICOM marker and no recognisable header)")
    if pixel_kw is None:
        what = str(ds.get("Modality", "") or "").strip()
        sop = ds.get("SOPClassUID")
        sop_name = getattr(sop, "name", "") if sop else ""
        detail = ", ".join(x for x in (what, sop_name) if x)
        raise RefusedError("no pixel data in this DICOM file" + (f" ({detail})" if detail else ""))

    rows = _header_int(ds, "Rows")
    cols = _header_int(ds, "Columns")
    frames = _header_int(ds, "NumberOfFrames", 1) or 1
    spp = _header_int(ds, "SamplesPerPixel", 1) or 1
    bits_alloc = _header_int(ds, "BitsAllocated")
    if rows < 0 or cols < 0 or frames < 0 or spp <= 0 or bits_alloc <= 0:
        raise RefusedError(
            f"DICOM header declares an invalid size ({cols}x{rows}, {frames} frames)"
        )
    check_size(cols, rows, frames)
    if rows == 0 or cols == 0:
        raise RefusedError(f"image has no pixels ({cols}x{rows})")

    # Declared pixel data size against the element and the file (uncompressed syntaxes).
    tsyntax = getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", None)
    if tsyntax is not None and not tsyntax.is_transfer_syntax:
        raise RefusedError(f"unsupported DICOM transfer syntax ({str(tsyntax)[:64]})")
    encapsulated = bool(tsyntax is not None and tsyntax.is_encapsulated)
    elem = ds.get_item(pixel_kw, keep_deferred=True)
    length = getattr(elem, "length", None)
    if not encapsulated and isinstance(length, int) and length != 0xFFFFFFFF:
        photometric = str(ds.get("PhotometricInterpretation", "") or "").strip().upper()
        samples = 2 if photometric == "YBR_FULL_422" and spp == 3 else spp  # chroma halved
        needed = math.ceil(rows * cols * frames * samples * bits_alloc / 8)
        dims = f"{cols}x{rows}" + (f"x{frames} frames" if frames > 1 else "")
        if length < needed:
            raise RefusedError(
                f"file is truncated or corrupt (header declares {dims} needing {needed} bytes "
                f"of pixel data, but the pixel data element holds {length})"
            )
        value_tell = getattr(elem, "value_tell", None)
        if tsyntax != DeflatedExplicitVRLittleEndian and isinstance(value_tell, int) and file_size:
            available = file_size - value_tell
            if available < needed:
                raise RefusedError(
                    f"file is truncated or corrupt (header declares {dims} needing {needed} "
                    f"bytes of pixel data, but only {max(available, 0)} remain in the file)"
                )


def decode_dataset(ds: Any, source: str, notes: list[str]) -> XrayImage:
    """The first frame of a fully read dataset whose header passed `check_header`, as the
    display values with its window."""
    frames = _header_int(ds, "NumberOfFrames", 1) or 1
    bits_stored = _header_int(ds, "BitsStored", _header_int(ds, "BitsAllocated"))
    rows, cols = _header_int(ds, "Rows"), _header_int(ds, "Columns")
    tsyntax = getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", None)
    # view_only: uncompressed pixels stay a read-only view on the file's bytes where pydicom
    # can (no copy of a 10 MB frame); every later step makes new arrays
    ds.pixel_array_options(index=0 if frames > 1 else None, view_only=True)
    if frames > 1:
        notes.append(f"multi-frame DICOM ({frames} frames): showing frame 1")
    try:
        arr = ds.pixel_array
    except BaseException as exc:  # see read_image: decoders may panic (BaseException)
        if isinstance(exc, FATAL):
            raise
        ts_name = getattr(tsyntax, "name", None) or str(tsyntax or "unknown transfer syntax")
        text = str(exc).lower()
        if isinstance(exc, NotImplementedError) or "missing dependencies" in text:
            raise RefusedError(f"unsupported DICOM compression ({ts_name})") from None
        raise RefusedError(
            f"file is truncated or corrupt (cannot decode DICOM pixel data, {ts_name}: "
            f"{describe(exc)})"
        ) from None
    arr = np.asarray(arr)
    if frames > 1 and arr.ndim >= 3 and arr.shape[0] == frames and arr.shape[1:3] == (rows, cols):
        arr = arr[0]  # decoder ignored the index option
    photometric = str(ds.get("PhotometricInterpretation", "") or "").strip().upper()

    window: tuple[float, float] | None = None
    if photometric in ("PALETTE COLOR", "PALETTE COLOUR") and arr.ndim == 2:
        arr = apply_color_lut(arr, ds)
        bits_stored = 8 * arr.dtype.itemsize
    if arr.ndim == 3 and arr.shape[-1] in (3, 4):
        notes.append(f"colour DICOM ({photometric or 'RGB'}) converted to grayscale")
        pixels, bits = _luma(arr[..., :3]), bits_stored
    elif arr.ndim == 2:
        pixels, bits, window = display_values(arr, ds, photometric, bits_stored)
    else:
        raise RefusedError(f"unexpected DICOM pixel array shape {arr.shape}")

    if window is None:
        window = (127.5, 255.0) if pixels.dtype == np.uint8 and bits == 8 else data_window(pixels)
    return XrayImage(
        pixels=np.ascontiguousarray(pixels),
        window=window,
        bits=int(bits),
        source=source,
        format="DICOM",
        original_size=(cols, rows),
        warnings=tuple(notes),
        meta=header_values(ds),
    )


def ensure_transfer_syntax(ds: Any) -> None:
    """Files without file meta (no preamble): record the encoding pydicom found."""
    meta = getattr(ds, "file_meta", None)
    if meta is not None and "TransferSyntaxUID" in meta:
        return
    implicit, little = getattr(ds, "original_encoding", (None, None))
    if implicit is None or little is None:
        return
    if implicit:
        uid = ImplicitVRLittleEndian
    else:
        uid = ExplicitVRLittleEndian if little else ExplicitVRBigEndian
    if meta is None:
        meta = FileMetaDataset()
        ds.file_meta = meta
    meta.TransferSyntaxUID = uid


def _luma(rgb: np.ndarray) -> np.ndarray:
    """ITU-R 601 luma (the same weights as PIL's 'L'), keeping uint8/uint16."""
    dtype = rgb.dtype
    rgb = rgb.astype(np.float32, copy=False)
    gray = rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114
    if dtype in (np.uint8, np.uint16):
        info = np.iinfo(dtype)
        return np.clip(np.rint(gray), info.min, info.max).astype(dtype)
    return gray.astype(np.float32)


def _first_number(value: Any) -> float | None:
    """First value of a (possibly multi-valued) numeric DICOM element, or None."""
    if value is None or value == "":
        return None
    try:
        if isinstance(value, Sequence) and not isinstance(value, str | bytes):
            value = value[0]
        number = float(value)
    except (TypeError, ValueError, IndexError):
        return None
    return number if math.isfinite(number) else None


def _modality_range(ds: Any, values: np.ndarray, bits_stored: int) -> tuple[float, float]:
    """The range modality values can take: the stored range through the rescale, or the data's
    range where a Modality LUT Sequence maps them."""
    if "ModalityLUTSequence" in ds:
        return float(np.nanmin(values)), float(np.nanmax(values))
    bits_stored = max(1, min(int(bits_stored), 32))
    if int(ds.get("PixelRepresentation", 0) or 0) == 1:
        smin, smax = -(2 ** (bits_stored - 1)), 2 ** (bits_stored - 1) - 1
    else:
        smin, smax = 0, 2**bits_stored - 1
    slope, intercept = _rescale(ds)
    a, b = slope * smin + intercept, slope * smax + intercept
    return min(a, b), max(a, b)


def _rescale(ds: Any) -> tuple[float, float]:
    """(RescaleSlope, RescaleIntercept), 1 and 0 where the header has no usable value."""
    slope = _first_number(ds.get("RescaleSlope"))
    intercept = _first_number(ds.get("RescaleIntercept"))
    return (1.0 if slope is None else slope, 0.0 if intercept is None else intercept)


def _identity_rescale(ds: Any) -> bool:
    return _rescale(ds) == (1.0, 0.0)


def _voi_is_nonlinear(ds: Any) -> bool:
    """A VOI LUT Sequence or a SIGMOID function: not a linear window over the values."""
    function = str(ds.get("VOILUTFunction", "") or "").strip().upper()
    has_window = _first_number(ds.get("WindowWidth")) is not None
    return "VOILUTSequence" in ds or (function == "SIGMOID" and has_window)


def _linear_window(ds: Any) -> tuple[float, float] | None:
    center = _first_number(ds.get("WindowCenter"))
    width = _first_number(ds.get("WindowWidth"))
    return (center, width) if center is not None and width is not None and width > 0 else None


def display_values(
    arr: np.ndarray, ds: Any, photometric: str, bits_stored: int
) -> tuple[np.ndarray, int, tuple[float, float] | None]:
    """Grayscale values, bit depth and default window (None: the data's range) of a frame."""
    if arr.dtype.byteorder not in ("=", "|"):
        arr = arr.astype(arr.dtype.newbyteorder("="))
    if arr.dtype == np.bool_:
        arr = arr.astype(np.uint8)
    if "ModalityLUTSequence" in ds or not _identity_rescale(ds):
        values = np.asarray(apply_modality_lut(arr, ds)).astype(np.float32)
    else:  # stored values are the modality values: keep their integer type
        values = arr if arr.dtype in (np.uint8, np.uint16) else arr.astype(np.float32)
    low, high = _modality_range(ds, values, bits_stored)
    window = _linear_window(ds)
    bits = max(1, min(int(bits_stored), 32))
    if _voi_is_nonlinear(ds):
        values = np.asarray(apply_voi_lut(values, ds), dtype=np.float32)
        if "VOILUTSequence" in ds:  # the output range is the LUT's bit depth
            low, high = 0.0, float(2 ** int(ds.VOILUTSequence[0].LUTDescriptor[2]) - 1)
        # SIGMOID maps into the modality range (pydicom's y_min..y_max)
        window = ((low + high) / 2.0, max(high - low, 1.0))
    if "PresentationLUTSequence" in ds:
        values = np.asarray(apply_presentation_lut(values, ds), dtype=np.float32)
        return values, bits, None
    shape = str(ds.get("PresentationLUTShape", "") or "").strip().upper()
    if photometric == "MONOCHROME1" or shape == "INVERSE":
        values, window = _inverted(values, low, high, window)
    return values, bits, window


def _inverted(
    values: np.ndarray, low: float, high: float, window: tuple[float, float] | None
) -> tuple[np.ndarray, tuple[float, float] | None]:
    """Invert within [low, high] (not the image's own range, so the window stays right)."""
    if values.dtype.kind == "u":
        top = min(int(high), np.iinfo(values.dtype).max)
        inverted = (top - np.clip(values, 0, top)).astype(values.dtype)
        low, high = 0.0, float(top)
    else:
        inverted = (np.float32(low + high) - np.clip(values, low, high)).astype(np.float32)
    if window is not None:
        window = (low + high - window[0], window[1])
    return inverted, window
