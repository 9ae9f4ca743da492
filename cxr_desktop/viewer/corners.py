"""Corner overlays on the image, as radiology viewers show them: who (top left), which
study (top right), what image (bottom left), how it is shown (bottom right). From the DICOM
header when the file has one, from the file itself otherwise."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter

from cxr_model.imaging.dicom_meta import parse_date, patient_age_years, pixel_spacing_mm
from cxr_model.imaging.reader import XrayImage


@dataclass(frozen=True)
class CornerTexts:
    """Lines of text for each corner of the image."""

    top_left: tuple[str, ...]
    top_right: tuple[str, ...]
    bottom_left: tuple[str, ...]
    bottom_right: tuple[str, ...]


def _date(value: str) -> str:
    day = parse_date(value)
    return day.isoformat() if day else value


def _time(value: str) -> str:
    digits = value.split(".")[0]
    return f"{digits[:2]}:{digits[2:4]}" if len(digits) >= 4 and digits.isdigit() else value


def _age(meta: dict) -> str:
    given = meta.get("PatientAge", "").strip()
    if given and given[:-1].isdigit():
        return f"{int(given[:-1])}{given[-1].upper()}"
    years = patient_age_years(meta)
    return f"{int(years)}Y" if years is not None else ""


def _lines(*values: str) -> tuple[str, ...]:
    return tuple(" ".join(v.split()) for v in values if v and v.strip())


def corner_texts(image: XrayImage, window: tuple[float, float], zoom: float) -> CornerTexts:
    """The four corners for `image` shown with `window` (center, width) at `zoom`."""
    width, height = image.original_size
    size = f"{width} x {height} px, {image.bits}-bit"
    shown = _lines(f"WL {window[0]:.5g} WW {window[1]:.5g}", f"Zoom {100 * zoom:.0f}%")
    meta = dict(image.meta)
    if not meta:
        path = Path(image.source)
        try:
            modified = dt.date.fromtimestamp(path.stat().st_mtime).isoformat()
        except OSError:
            modified = ""
        return CornerTexts(
            _lines(path.name),
            _lines(f"File date {modified}" if modified else ""),
            _lines(image.format, size),
            shown,
        )
    sex_age = " ".join(v for v in (_age(meta), meta.get("PatientSex", "")) if v)
    spacing = pixel_spacing_mm(meta)
    view = " ".join(
        v
        for v in (
            meta.get("Modality", ""),
            meta.get("ViewPosition", ""),
            meta.get("ImageLaterality") or meta.get("Laterality", ""),
        )
        if v
    )
    numbers = " ".join(
        f"{label} {meta[key]}"
        for label, key in (("Se", "SeriesNumber"), ("Im", "InstanceNumber"))
        if meta.get(key)
    )
    return CornerTexts(
        _lines(
            meta.get("PatientName", "").replace("^", " "),
            f"ID {meta['PatientID']}" if meta.get("PatientID") else "",
            sex_age,
            f"Born {_date(meta['PatientBirthDate'])}" if meta.get("PatientBirthDate") else "",
        ),
        _lines(
            meta.get("InstitutionName", ""),
            meta.get("StudyDescription", ""),
            " ".join(
                v for v in (_date(meta.get("StudyDate", "")), _time(meta.get("StudyTime", ""))) if v
            ),
            meta.get("SeriesDescription", ""),
            f"Acc {meta['AccessionNumber']}" if meta.get("AccessionNumber") else "",
        ),
        _lines(
            view, numbers, size, f"{spacing[1]:.3g} x {spacing[0]:.3g} mm/px" if spacing else ""
        ),
        shown,
    )


def paint_corners(painter: QPainter, rect: QRectF, texts: CornerTexts, font_px: int) -> None:
    """Draw the corner texts inside `rect` (white on a dark outline, legible on any image)."""
    font = QFont()
    font.setPixelSize(max(6, font_px))
    painter.save()
    painter.setFont(font)
    metrics = QFontMetricsF(font)
    step, margin = metrics.height(), font_px * 0.5
    corners = (
        (texts.top_left, False, False),
        (texts.top_right, True, False),
        (texts.bottom_left, False, True),
        (texts.bottom_right, True, True),
    )
    for lines, right, bottom in corners:
        for i, line in enumerate(lines):
            row = (len(lines) - 1 - i) if bottom else i
            y = (
                rect.bottom() - margin - row * step - metrics.descent()
                if bottom
                else rect.top() + margin + row * step + metrics.ascent()
            )
            x = (
                rect.right() - margin - metrics.horizontalAdvance(line)
                if right
                else rect.left() + margin
            )
            painter.setPen(QColor(0, 0, 0, 220))
            for dx, dy in ((-1, 0), (1, 0), (0, -1), (0, 1)):
                painter.drawText(QPointF(x + dx, y + dy), line)
            painter.setPen(Qt.GlobalColor.white)
            painter.drawText(QPointF(x, y), line)
    painter.restore()
