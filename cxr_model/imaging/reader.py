"""One image reader for every supported chest X-ray file (PNG, JPEG, TIFF, BMP, DICOM).

``read_image`` returns an :class:`XrayImage` holding 2-D grayscale pixels at full bit depth
plus a default display window; ``read_image_bytes`` does the same for a file's bytes already
in memory. Every failure is an :class:`~cxr_model.errors.ImageReadError`
with a reason a person understands; nothing else escapes. Sizes are checked against
:data:`MAX_PIXELS` from the header, before any pixel buffer is allocated.

``read_report`` reads a radiology report text file (UTF-8/UTF-16/cp1252/latin-1).
"""

from __future__ import annotations

import io
import math
import os
import stat
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np
from PIL import (
    BmpImagePlugin,
    Image,
    ImageFile,
    ImageOps,
    JpegImagePlugin,
    PngImagePlugin,
    TiffImagePlugin,
)

from cxr_model.errors import ImageReadError, ReportReadError
from cxr_model.imaging.dicom_meta import header_values

__all__ = [
    "MAX_PIXELS",
    "MAX_REPORT_BYTES",
    "SUPPORTED_SUFFIXES",
    "XrayImage",
    "is_dicom_file",
    "is_supported",
    "read_image",
    "read_image_bytes",
    "read_report",
]

#: Largest image (width * height, times frames for DICOM) that is decoded. Documented limit.
MAX_PIXELS: int = 100_000_000
#: Largest report text file accepted by :func:`read_report`.
MAX_REPORT_BYTES: int = 5 * 1024 * 1024

SUPPORTED_SUFFIXES: frozenset[str] = frozenset(
    {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".dcm", ".dicom"}
)
_DICOM_SUFFIXES = frozenset({".dcm", ".dicom"})
_SUFFIX_FORMAT = {
    ".png": "PNG",
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".tif": "TIFF",
    ".tiff": "TIFF",
    ".bmp": "BMP",
    ".dcm": "DICOM",
    ".dicom": "DICOM",
}

# PIL's own bomb guard agrees with ours (it warns above this and raises above twice this).
# We never rely on it: the size is checked before load() below.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS

_HEAD_BYTES = 4096


@dataclass(frozen=True, eq=False)  # eq=False: compare/hash by identity (holds an array)
class XrayImage:
    """A decoded grayscale X-ray at full bit depth."""

    pixels: np.ndarray
    window: tuple[float, float]
    bits: int
    source: str
    format: str
    original_size: tuple[int, int]
    warnings: tuple[str, ...] = field(default_factory=tuple)
    #: DICOM header values (`cxr_model.imaging.dicom_meta.HEADER_KEYWORDS`); empty otherwise.
    meta: Mapping[str, str] = field(default_factory=dict)

    def to_unit(self, window: tuple[float, float] | None = None) -> np.ndarray:
        """Map ``[center - width/2, center + width/2]`` linearly to ``[0, 1]`` (clipped).

        Returns a float32 2-D array; ``window`` defaults to :attr:`window`.
        """
        center, width = self.window if window is None else window
        center, width = float(center), float(width)
        if not math.isfinite(width) or width <= 0:
            width = 1e-6
        low = center - width / 2.0
        out = (self.pixels.astype(np.float32) - np.float32(low)) / np.float32(width)
        np.clip(out, 0.0, 1.0, out=out)
        return out.astype(np.float32, copy=False)


# --------------------------------------------------------------------------- helpers


# Never swallowed at the boundary: the user or the interpreter wants out.
_FATAL = (KeyboardInterrupt, SystemExit, GeneratorExit)


class _Refused(Exception):
    """Internal: carries a finished human reason up to the boundary."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _fspath(path: Any) -> str:
    if isinstance(path, bytes):
        return os.fsdecode(path)
    if isinstance(path, str | os.PathLike):
        return os.fspath(path)
    raise TypeError(type(path).__name__)


def _megapixel_reason(width: int, height: int, frames: int = 1) -> str:
    total = width * height * frames
    dims = f"{width}x{height}" + (f"x{frames} frames" if frames > 1 else "")
    return f"image is {dims} = {total / 1e6:.1f} megapixels, over the {MAX_PIXELS / 1e6:g} MP limit"


def _describe(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    if len(text) > 200:
        text = text[:197] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


_OS_REASONS = (
    (FileNotFoundError, "no such file"),
    (PermissionError, "permission denied"),
    (NotADirectoryError, "no such file (a parent is not a folder)"),
    (IsADirectoryError, "is a directory"),
)


def _os_reason(exc: OSError, action: str) -> str:
    """A person's words for an OSError met while trying to `action` a file."""
    for kind, reason in _OS_REASONS:
        if isinstance(exc, kind):
            return reason
    return f"cannot {action} file ({_describe(exc)})"


def _stat_regular(path: str) -> os.stat_result:
    """Stat ``path`` and refuse anything that is not a readable regular file."""
    try:
        st = os.stat(path)
    except OSError as exc:
        raise _Refused(_os_reason(exc, "access")) from None
    if stat.S_ISDIR(st.st_mode):
        raise _Refused("is a directory")
    if not stat.S_ISREG(st.st_mode):
        raise _Refused("not a regular file")
    return st


def _open_binary(path: str) -> IO[bytes]:
    try:
        return open(path, "rb")  # closed by the caller
    except OSError as exc:
        raise _Refused(_os_reason(exc, "open")) from None


def _sniff(head: bytes) -> str | None:
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
    if _looks_like_text(head):
        return "TEXT"
    if head.startswith(b"BM") and len(head) >= 26:
        return "BMP"
    return None


def _looks_like_text(head: bytes) -> bool:
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


# --------------------------------------------------------------------------- public API


def is_dicom_file(path: str | os.PathLike[str]) -> bool:
    """True when the file carries the DICOM Part 10 ``DICM`` marker at byte 128."""
    try:
        with open(_fspath(path), "rb") as fh:
            fh.seek(128)
            return fh.read(4) == b"DICM"
    except Exception:
        return False


def is_supported(path: str | os.PathLike[str]) -> bool:
    """True for a supported suffix, or a DICOM file (by its marker) with any name."""
    try:
        suffix = Path(_fspath(path)).suffix.lower()
    except Exception:
        return False
    return suffix in SUPPORTED_SUFFIXES or is_dicom_file(path)


def read_image(path: str | os.PathLike[str], *, max_side: int | None = None) -> XrayImage:
    """Read any supported image as 2-D grayscale at full bit depth.

    ``max_side`` is a hint that the caller only needs an image whose shorter side is at least
    ``max_side`` pixels: JPEGs far larger than that are decoded at reduced scale (PIL draft
    mode). Other formats ignore it. ``original_size`` always reports the full stored size.

    Raises :class:`ImageReadError` for every failure, and nothing else.
    """
    try:
        source = _fspath(path)
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


def _guarded(source: str, read: Callable[[], XrayImage]) -> XrayImage:
    """Run ``read`` and turn every failure into an ImageReadError naming ``source``."""
    try:
        return read()
    except ImageReadError:
        raise
    except _Refused as exc:
        raise ImageReadError(exc.reason, file=source) from None
    except MemoryError:
        raise ImageReadError("not enough memory to decode the image", file=source) from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageReadError(
            f"image is over the {MAX_PIXELS / 1e6:g} MP limit ({exc})", file=source
        ) from None
    except RecursionError:
        raise ImageReadError(
            "file is truncated or corrupt (structure nested too deeply)", file=source
        ) from None
    except BaseException as exc:  # any decoder failure: OSError, SyntaxError, struct.error, ...
        # BaseException: Rust-based decoders (pylibjpeg-rle) raise pyo3 PanicException,
        # which derives from BaseException, on malformed input.
        if isinstance(exc, _FATAL):
            raise
        raise ImageReadError(
            f"file is truncated or corrupt ({_describe(exc)})", file=source
        ) from exc


def _read_file(source: str, max_side: int | None) -> XrayImage:
    st = _stat_regular(source)
    if st.st_size == 0:
        raise _Refused("file is empty")
    with _open_binary(source) as fh:
        return _decode(fh, source, st.st_size, max_side)


def _decode(fh: IO[bytes], source: str, size: int, max_side: int | None) -> XrayImage:
    """Sniff the format from the first bytes of ``fh`` (``size`` bytes long) and decode it."""
    try:
        head = fh.read(_HEAD_BYTES)
    except IsADirectoryError:
        raise _Refused("is a directory") from None
    except PermissionError:
        raise _Refused("permission denied") from None
    if not head:
        raise _Refused("file is empty")
    suffix = Path(source).suffix.lower()
    kind = _sniff(head)
    notes: list[str] = []
    if kind is None and suffix in _DICOM_SUFFIXES:
        kind = "DICOM-NOMARKER"  # DICOM without preamble: let pydicom try (force=True)
    if kind == "TEXT":
        raise _Refused("not an image: looks like HTML/text")
    if kind is None:
        raise _Refused("unsupported format (content not recognised as an image)")
    if kind not in ("PNG", "JPEG", "TIFF", "BMP", "DICOM", "DICOM-NOMARKER"):
        raise _Refused(f"unsupported format ({kind})")
    fmt = "DICOM" if kind.startswith("DICOM") else kind
    expected = _SUFFIX_FORMAT.get(suffix)
    if expected is not None and expected != fmt:
        notes.append(f"file extension {suffix} does not match its content ({fmt})")
    fh.seek(0)
    if fmt == "DICOM":
        return _read_dicom(fh, source, size, notes, force=kind == "DICOM-NOMARKER")
    return _read_pil(fh, source, fmt, max_side, notes)


# --------------------------------------------------------------------------- PIL formats

_PIL_OPENERS = {
    "PNG": PngImagePlugin.PngImageFile,
    "JPEG": JpegImagePlugin.JpegImageFile,
    "TIFF": TiffImagePlugin.TiffImageFile,
    "BMP": BmpImagePlugin.BmpImageFile,
}


def _read_pil(
    fh: IO[bytes], source: str, fmt: str, max_side: int | None, notes: list[str]
) -> XrayImage:
    # Construct the plugin directly: it parses only the header (lazy), exactly like
    # Image.open, but lets us check the size ourselves and report it in the message.
    im: ImageFile.ImageFile = _PIL_OPENERS[fmt](fh)
    width, height = im.size
    if width * height > MAX_PIXELS:
        raise _Refused(_megapixel_reason(width, height))
    if width <= 0 or height <= 0:
        raise _Refused(f"image has no pixels ({width}x{height})")
    frames = int(getattr(im, "n_frames", 1) or 1)
    if frames > 1:
        notes.append(f"multi-page {fmt} ({frames} pages): showing page 1")
    stored_size = (width, height)

    if fmt == "JPEG" and max_side is not None and max_side > 0:
        # Decode at 1/2, 1/4 or 1/8 scale while both sides stay >= max_side.
        im.draft("L", (int(max_side), int(max_side)))
    im.load()

    if fmt == "JPEG":
        decoded_size = im.size
        try:
            orientation = int(im.getexif().get(0x0112, 1) or 1)
        except Exception:
            orientation = 1
        if orientation != 1:
            try:
                transposed = ImageOps.exif_transpose(im)
            except Exception as exc:
                notes.append(f"EXIF orientation could not be applied ({_describe(exc)})")
            else:
                if transposed is not None:
                    im = transposed
        # original_size follows the displayed orientation, like the pixels.
        if im.size != decoded_size and im.size == decoded_size[::-1]:
            stored_size = (stored_size[1], stored_size[0])

    pixels, bits = _pil_to_gray(im)
    if pixels.ndim != 2 or pixels.size == 0:
        raise _Refused(f"image has no pixels ({pixels.shape})")
    if pixels.dtype == np.uint8:
        window = (127.5, 255.0)
    else:
        window = _data_window(pixels)
    return XrayImage(
        pixels=np.ascontiguousarray(pixels),
        window=window,
        bits=bits,
        source=source,
        format=fmt,
        original_size=stored_size,
        warnings=tuple(notes),
    )


def _pil_to_gray(im: Image.Image) -> tuple[np.ndarray, int]:
    mode = im.mode
    if mode.startswith("I;16"):
        arr = np.asarray(im)
        return arr.astype(np.uint16, copy=False), 16
    if mode in ("I", "I;32", "I;32S", "I;32B", "I;32BS"):
        arr = np.asarray(im)
        if arr.size and arr.min() >= 0 and arr.max() <= 0xFFFF:
            return arr.astype(np.uint16), 16
        return arr.astype(np.float32), 32
    if mode == "F":
        return np.asarray(im, dtype=np.float32), 32
    if mode == "L":
        return np.asarray(im, dtype=np.uint8), 8
    has_alpha = mode in ("RGBA", "LA", "PA", "La", "RGBa") or (
        mode == "P" and "transparency" in im.info
    )
    if has_alpha:
        rgba = im.convert("RGBA")
        black = Image.new("RGBA", rgba.size, (0, 0, 0, 255))
        gray = Image.alpha_composite(black, rgba).convert("L")
    elif mode in ("RGB", "L", "1", "P", "CMYK", "YCbCr", "LAB", "HSV", "RGBX"):
        gray = im.convert("L") if mode not in ("CMYK",) else im.convert("RGB").convert("L")
    else:
        gray = im.convert("RGB").convert("L")
    return np.asarray(gray, dtype=np.uint8), 8


def _data_window(pixels: np.ndarray) -> tuple[float, float]:
    finite = pixels if pixels.dtype.kind in "ui" else pixels[np.isfinite(pixels)]
    if finite.size == 0:
        return (0.5, 1.0)
    low, high = float(finite.min()), float(finite.max())
    width = high - low
    if width <= 0:
        width = 1.0
    return ((low + high) / 2.0, width)


# --------------------------------------------------------------------------- DICOM

_PIXEL_KEYWORDS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")


def _read_dicom(
    fh: IO[bytes], source: str, file_size: int, notes: list[str], *, force: bool
) -> XrayImage:
    import pydicom
    from pydicom.pixels import apply_color_lut, apply_modality_lut
    from pydicom.uid import DeflatedExplicitVRLittleEndian

    # 1) Header only: large values (the pixel data) are not read into memory.
    try:
        ds = pydicom.dcmread(fh, defer_size=1024, force=force)
    except Exception as exc:
        if force:
            raise _Refused(f"not a valid DICOM file ({_describe(exc)})") from None
        raise _Refused(f"file is truncated or corrupt (DICOM header: {_describe(exc)})") from None

    pixel_kw = next((kw for kw in _PIXEL_KEYWORDS if kw in ds), None)
    if pixel_kw is None and force and "SOPClassUID" not in ds:
        raise _Refused("not a valid DICOM file (no DICOM marker and no recognisable header)")
    if pixel_kw is None:
        what = str(ds.get("Modality", "") or "").strip()
        sop = ds.get("SOPClassUID")
        sop_name = getattr(sop, "name", "") if sop else ""
        detail = ", ".join(x for x in (what, sop_name) if x)
        raise _Refused("no pixel data in this DICOM file" + (f" ({detail})" if detail else ""))

    def header_int(keyword: str, default: int | None = None) -> int:
        value = ds.get(keyword, default)
        if value is None or value == "":
            if default is None:
                raise _Refused(f"DICOM header is missing {keyword}")
            return default
        try:
            return int(value)
        except (TypeError, ValueError):
            raise _Refused(f"DICOM header has an invalid {keyword} ({value!r})") from None

    rows = header_int("Rows")
    cols = header_int("Columns")
    frames = header_int("NumberOfFrames", 1) or 1
    spp = header_int("SamplesPerPixel", 1) or 1
    bits_alloc = header_int("BitsAllocated")
    bits_stored = header_int("BitsStored", bits_alloc)
    if rows < 0 or cols < 0 or frames < 0 or spp <= 0 or bits_alloc <= 0:
        raise _Refused(f"DICOM header declares an invalid size ({cols}x{rows}, {frames} frames)")
    if rows * cols * frames > MAX_PIXELS:
        raise _Refused(_megapixel_reason(cols, rows, frames))
    if rows == 0 or cols == 0:
        raise _Refused(f"image has no pixels ({cols}x{rows})")

    # 2) Declared pixel data size against the element and the file (uncompressed syntaxes).
    tsyntax = getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", None)
    if tsyntax is not None and not tsyntax.is_transfer_syntax:
        raise _Refused(f"unsupported DICOM transfer syntax ({str(tsyntax)[:64]})")
    encapsulated = bool(tsyntax is not None and tsyntax.is_encapsulated)
    elem = ds.get_item(pixel_kw, keep_deferred=True)
    length = getattr(elem, "length", None)
    if not encapsulated and isinstance(length, int) and length != 0xFFFFFFFF:
        photometric = str(ds.get("PhotometricInterpretation", "") or "").strip().upper()
        samples = 2 if photometric == "YBR_FULL_422" and spp == 3 else spp  # chroma halved
        needed = math.ceil(rows * cols * frames * samples * bits_alloc / 8)
        dims = f"{cols}x{rows}" + (f"x{frames} frames" if frames > 1 else "")
        if length < needed:
            raise _Refused(
                f"file is truncated or corrupt (header declares {dims} needing {needed} bytes "
                f"of pixel data, but the pixel data element holds {length})"
            )
        value_tell = getattr(elem, "value_tell", None)
        if tsyntax != DeflatedExplicitVRLittleEndian and isinstance(value_tell, int):
            available = file_size - value_tell
            if available < needed:
                raise _Refused(
                    f"file is truncated or corrupt (header declares {dims} needing {needed} "
                    f"bytes of pixel data, but only {max(available, 0)} remain in the file)"
                )

    # 3) Checks passed: read fully and decode only the first frame.
    fh.seek(0)
    ds = pydicom.dcmread(fh, force=force)
    _ensure_transfer_syntax(ds)
    if frames > 1:
        ds.pixel_array_options(index=0)
        notes.append(f"multi-frame DICOM ({frames} frames): showing frame 1")
    try:
        arr = ds.pixel_array
    except BaseException as exc:  # see read_image: decoders may panic (BaseException)
        if isinstance(exc, _FATAL):
            raise
        ts_name = getattr(tsyntax, "name", None) or str(tsyntax or "unknown transfer syntax")
        text = str(exc).lower()
        if isinstance(exc, NotImplementedError) or "missing dependencies" in text:
            raise _Refused(f"unsupported DICOM compression ({ts_name})") from None
        raise _Refused(
            f"file is truncated or corrupt (cannot decode DICOM pixel data, {ts_name}: "
            f"{_describe(exc)})"
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
        pixels, bits, window = _dicom_gray(arr, ds, photometric, bits_stored, apply_modality_lut)
    else:
        raise _Refused(f"unexpected DICOM pixel array shape {arr.shape}")

    if window is None:
        window = (127.5, 255.0) if pixels.dtype == np.uint8 and bits == 8 else _data_window(pixels)
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


def _ensure_transfer_syntax(ds: Any) -> None:
    """Files without file meta (no preamble): record the encoding pydicom found."""
    from pydicom.dataset import FileMetaDataset
    from pydicom.uid import ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian

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


def _dicom_gray(
    arr: np.ndarray, ds: Any, photometric: str, bits_stored: int, apply_modality_lut: Any
) -> tuple[np.ndarray, int, tuple[float, float] | None]:
    if arr.dtype.byteorder not in ("=", "|"):
        arr = arr.astype(arr.dtype.newbyteorder("="))
    if arr.dtype == np.bool_:
        arr = arr.astype(np.uint8)
    signed = int(ds.get("PixelRepresentation", 0) or 0) == 1
    has_lut = "ModalityLUTSequence" in ds
    slope = _first_number(ds.get("RescaleSlope"))
    intercept = _first_number(ds.get("RescaleIntercept"))
    slope = 1.0 if slope is None else slope
    intercept = 0.0 if intercept is None else intercept
    identity = not has_lut and slope == 1.0 and intercept == 0.0

    if identity:
        values = arr
    else:
        values = np.asarray(apply_modality_lut(arr, ds))

    if identity and values.dtype in (np.uint8, np.uint16):
        pixels = values
    else:
        pixels = values.astype(np.float32)

    # Range of possible modality values, for MONOCHROME1 inversion.
    bits_stored = max(1, min(int(bits_stored), 32))
    if signed:
        smin, smax = -(2 ** (bits_stored - 1)), 2 ** (bits_stored - 1) - 1
    else:
        smin, smax = 0, 2**bits_stored - 1
    if has_lut:
        lo, hi = float(np.nanmin(pixels)), float(np.nanmax(pixels))
    else:
        a, b = slope * smin + intercept, slope * smax + intercept
        lo, hi = min(a, b), max(a, b)

    center = _first_number(ds.get("WindowCenter"))
    width = _first_number(ds.get("WindowWidth"))
    window = (center, width) if center is not None and width is not None and width > 0 else None

    if photometric == "MONOCHROME1":
        if pixels.dtype.kind == "u":
            info = np.iinfo(pixels.dtype)
            hi_i = min(int(hi), info.max)
            pixels = (hi_i - np.clip(pixels, 0, hi_i)).astype(pixels.dtype)
            lo, hi = 0.0, float(hi_i)
        else:
            pixels = (np.float32(lo + hi) - np.clip(pixels, lo, hi)).astype(np.float32)
        if window is not None:
            window = (lo + hi - window[0], window[1])
    bits = bits_stored
    return pixels, bits, window


# --------------------------------------------------------------------------- reports


def read_report(path: str | os.PathLike[str]) -> str:
    """Read a radiology report text file and return its text, newlines normalised, stripped.

    UTF-8 (with or without BOM) and UTF-16/UTF-32 with BOM are decoded; other bytes fall back
    to cp1252, then latin-1. Files over :data:`MAX_REPORT_BYTES` and binary files are refused
    with :class:`ReportReadError`; nothing else escapes.
    """
    try:
        source = _fspath(path)
    except Exception:
        raise ReportReadError(f"not a file path: {path!r}") from None
    try:
        return _read_report(source)
    except ReportReadError:
        raise
    except _Refused as exc:
        raise ReportReadError(exc.reason, file=source) from None
    except MemoryError:
        raise ReportReadError("not enough memory to read the report", file=source) from None
    except BaseException as exc:
        if isinstance(exc, _FATAL):
            raise
        raise ReportReadError(f"cannot read report ({_describe(exc)})", file=source) from exc


def _read_report(source: str) -> str:
    st = _stat_regular(source)
    if st.st_size > MAX_REPORT_BYTES:
        raise _Refused(
            f"report is {st.st_size / 2**20:.1f} MB, over the {MAX_REPORT_BYTES / 2**20:g} MB limit"
        )
    with _open_binary(source) as fh:
        data = fh.read(MAX_REPORT_BYTES + 1)
    if len(data) > MAX_REPORT_BYTES:
        raise _Refused(f"report is over the {MAX_REPORT_BYTES / 2**20:g} MB limit")
    text = _decode_report(data)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text.strip()


def _decode_report(data: bytes) -> str:
    boms = (
        (b"\x00\x00\xfe\xff", "utf-32-be"),
        (b"\xff\xfe\x00\x00", "utf-32-le"),
        (b"\xef\xbb\xbf", "utf-8"),
        (b"\xff\xfe", "utf-16-le"),
        (b"\xfe\xff", "utf-16-be"),
    )
    for bom, codec in boms:
        if data.startswith(bom):
            try:
                text = data[len(bom) :].decode(codec)
            except UnicodeDecodeError as exc:
                raise _Refused(f"report is not valid {codec.upper()} text ({exc.reason})") from None
            if "\x00" in text:
                raise _Refused("not a text file: contains binary data")
            return text
    if b"\x00" in data:
        raise _Refused("not a text file: contains binary data (NUL bytes)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError:
            text = data.decode("latin-1")
    controls = sum(1 for ch in text if (ord(ch) < 32 and ch not in "\t\n\r\f\v") or ch == "\x7f")
    if text and controls / len(text) > 0.05:
        raise _Refused("not a text file: contains binary data")
    return text
