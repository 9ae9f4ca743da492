"""The few DICOM header values the product uses beyond pixels: who, which study, which view,
how large a pixel is. Read from the dataset once, kept as plain strings on `XrayImage.meta`."""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping
from typing import Any

#: Header keywords copied into `XrayImage.meta` (as strings; multi-values joined with "\\").
HEADER_KEYWORDS: tuple[str, ...] = (
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "PatientSex",
    "PatientAge",
    "StudyInstanceUID",
    "SeriesInstanceUID",
    "SOPInstanceUID",
    "SOPClassUID",
    "StudyDate",
    "StudyTime",
    "SeriesDate",
    "AcquisitionDate",
    "ContentDate",
    "StudyDescription",
    "SeriesDescription",
    "AccessionNumber",
    "InstitutionName",
    "Modality",
    "BodyPartExamined",
    "ViewPosition",
    "Laterality",
    "ImageLaterality",
    "PixelSpacing",
    "ImagerPixelSpacing",
    "PhotometricInterpretation",
    "WindowCenter",
    "WindowWidth",
    "Manufacturer",
    "SeriesNumber",
    "InstanceNumber",
)

_STRICT_AGE = re.compile(r"^(\d{3})([DWMY])$")  # DICOM AS: exactly three digits and a unit
_UNIT_YEARS = {"D": 1 / 365.25, "W": 7 / 365.25, "M": 1 / 12, "Y": 1.0}
#: Oldest age taken as real; an older one is a typing error, treated as no age.
MAX_AGE_YEARS = 125.0


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple) or type(value).__name__ == "MultiValue":
        return "\\".join(_text(v) for v in value)
    return str(value).strip()


def header_values(ds: Any) -> dict[str, str]:
    """The HEADER_KEYWORDS present (and non-empty) in a pydicom dataset, as strings."""
    out: dict[str, str] = {}
    for keyword in HEADER_KEYWORDS:
        try:
            value = ds.get(keyword)
        except Exception:  # a malformed element must not cost the image
            continue
        text = _text(value)
        if text:
            out[keyword] = text
    return out


def parse_date(value: str) -> dt.date | None:
    """DICOM DA (`YYYYMMDD`) as a date, or None."""
    try:
        return dt.datetime.strptime((value or "").strip()[:8], "%Y%m%d").date()
    except ValueError:
        return None


def patient_age_years(meta: Mapping[str, str]) -> float | None:
    """The age at the examination that the router goes by (`checked_age_years`), for showing
    it: None when the header gives none or gives one that was set aside."""
    return checked_age_years(meta)[0]


def checked_age_years(meta: Mapping[str, str]) -> tuple[float | None, str | None]:
    """The age at the examination for choosing a model, and why a header's age was set aside.

    PatientAge, else PatientBirthDate against the study (or acquisition, series, content)
    date. A PatientAge that is not a DICOM Age String (`45`, `0Y`), an age over
    MAX_AGE_YEARS (`999Y`) or a birth date after the study date gives
    (None, warning): no age, never a guessed one. The warning names no birth date.
    """
    text = meta.get("PatientAge", "").strip()
    if text:
        match = _STRICT_AGE.match(text.upper())
        if not match:
            return None, f"PatientAge {text!r} is not a DICOM age (nnnD, nnnW, nnnM or nnnY)"
        age = int(match.group(1)) * _UNIT_YEARS[match.group(2)]
        if age > MAX_AGE_YEARS:
            return None, f"PatientAge {text!r} is over {MAX_AGE_YEARS:.0f} years"
        return age, None
    born_text = meta.get("PatientBirthDate", "").strip()
    if not born_text:
        return None, None
    born = parse_date(born_text)
    if born is None:
        return None, "PatientBirthDate is not a DICOM date (YYYYMMDD)"
    for keyword in ("StudyDate", "AcquisitionDate", "SeriesDate", "ContentDate"):
        when = parse_date(meta.get(keyword, ""))
        if when is None:
            continue
        if when < born:
            return None, f"PatientBirthDate is after the {keyword}"
        age = (when - born).days / 365.25
        if age > MAX_AGE_YEARS:
            return None, f"PatientBirthDate is over {MAX_AGE_YEARS:.0f} years before the {keyword}"
        return age, None
    return None, None


def pixel_spacing_mm(meta: Mapping[str, str]) -> tuple[float, float] | None:
    """(row spacing, column spacing) in mm from PixelSpacing, else ImagerPixelSpacing."""
    for keyword in ("PixelSpacing", "ImagerPixelSpacing"):
        parts = meta.get(keyword, "").split("\\")
        if len(parts) != 2:
            continue
        try:
            rows, cols = float(parts[0]), float(parts[1])
        except ValueError:
            continue
        if all(math.isfinite(v) and v > 0 for v in (rows, cols)):
            return rows, cols
    return None
