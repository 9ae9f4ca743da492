"""A DICOM file's header without its pixels: the full dataset as text for browsing
(`read_header`), or the few values the product uses (`read_meta`).

Large binary values (pixel data, big private blobs) are never read: only their size is shown.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from cxr_model.errors import ImageReadError
from cxr_model.imaging.dicom_meta import HEADER_KEYWORDS, header_values
from cxr_model.imaging.reader import is_dicom_file

#: Value representations shown by size only.
BINARY_VRS = frozenset({"OB", "OD", "OF", "OL", "OV", "OW", "UN"})
#: Pixel Data, Float Pixel Data, Double Float Pixel Data (7FE0,0010/0008/0009).
PIXEL_TAGS = frozenset({0x7FE00010, 0x7FE00008, 0x7FE00009})
MAX_VALUE_CHARS = 256
_DEFER_BYTES = 4096  # values larger than this stay on disk until asked for


@dataclass(frozen=True)
class HeaderElement:
    """One data element as text. A sequence (VR SQ) holds its items, each a tuple of
    elements; `value` then says how many there are."""

    tag: str  # "(0010,1010)"
    keyword: str  # "PatientAge"; "" for private and unknown tags
    name: str  # "Patient's Age"; private tags name their creator
    vr: str
    value: str
    private: bool = False
    items: tuple[tuple[HeaderElement, ...], ...] = ()


def read_header(path: str | os.PathLike[str]) -> tuple[HeaderElement, ...]:
    """File meta information then the dataset, in tag order. Raises ImageReadError."""
    ds = _dataset(path, defer_size=_DEFER_BYTES)
    meta = getattr(ds, "file_meta", None)
    return (*(_elements(meta) if meta is not None else ()), *_elements(ds))


def read_meta(path: str | os.PathLike[str]) -> dict[str, str]:
    """The HEADER_KEYWORDS values of a DICOM file (as on `XrayImage.meta`), pixels unread.
    Raises ImageReadError."""
    return header_values(
        _dataset(path, stop_before_pixels=True, specific_tags=list(HEADER_KEYWORDS))
    )


def _dataset(path: str | os.PathLike[str], **options: Any) -> Any:
    import pydicom

    source = os.fspath(path)
    marked = is_dicom_file(source)
    try:
        ds = pydicom.dcmread(source, force=not marked, **options)
    except FileNotFoundError:
        raise ImageReadError("no such file", file=source) from None
    except Exception as exc:  # any parser failure is "not readable DICOM"
        raise ImageReadError(
            f"not a readable DICOM file ({type(exc).__name__}: {exc})", file=source
        ) from None
    if not marked and not any(
        k in ds for k in ("SOPClassUID", "SOPInstanceUID", "StudyInstanceUID")
    ):
        raise ImageReadError(
            "not a DICOM file (no DICOM marker, no DICOM identifiers)", file=source
        )
    return ds


def _elements(ds: Any) -> Iterable[HeaderElement]:
    for tag in ds.keys():
        raw = ds.get_item(tag, keep_deferred=True)
        vr = str(getattr(raw, "VR", "") or "")
        size = getattr(raw, "length", None)
        if int(tag) in PIXEL_TAGS or (raw.value is None and (vr in BINARY_VRS or not vr)):
            yield _element(tag, ds, vr or "OB", _size_text(size, int(tag) in PIXEL_TAGS))
            continue
        elem = ds[tag]
        if elem.VR == "SQ":
            items = tuple(tuple(_elements(item)) for item in elem.value)
            yield _element(tag, ds, "SQ", f"{len(items)} item{'s' * (len(items) != 1)}", items)
        else:
            yield _element(tag, ds, elem.VR, _value_text(elem.value))


def _element(
    tag: Any, ds: Any, vr: str, value: str, items: tuple[tuple[HeaderElement, ...], ...] = ()
) -> HeaderElement:
    from pydicom.datadict import dictionary_description, keyword_for_tag
    from pydicom.tag import Tag

    tag = Tag(tag)
    text = f"({tag.group:04X},{tag.element:04X})"
    if not tag.is_private:
        try:
            name = dictionary_description(tag)
        except KeyError:
            name = "Unknown tag"
        return HeaderElement(text, keyword_for_tag(tag) or "", name, vr, value, False, items)
    if tag.is_private_creator:
        name = "Private Creator"
    else:
        creator = _private_creator(ds, tag)
        name = f"Private tag of {creator}" if creator else "Private tag (no creator)"
    return HeaderElement(text, "", name, vr, value, True, items)


def _private_creator(ds: Any, tag: Any) -> str:
    creator_tag = (tag.group << 16) | (tag.element >> 8)
    if creator_tag not in ds:
        return ""
    return _value_text(ds[creator_tag].value)


def _size_text(size: int | None, pixels: bool) -> str:
    what = "pixel data, " if pixels else ""
    known = f"{size} bytes" if isinstance(size, int) and size != 0xFFFFFFFF else "encapsulated"
    return f"{what}{known}, not shown"


def _value_text(value: Any) -> str:
    if isinstance(value, bytes):
        return f"{len(value)} bytes, not shown"
    if isinstance(value, list | tuple) or type(value).__name__ == "MultiValue":
        text = "\\".join(str(v) for v in value)
    else:
        text = "" if value is None else str(value)
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 1] + "…"
