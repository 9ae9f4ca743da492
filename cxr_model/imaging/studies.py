"""DICOM files grouped as a viewer shows them: studies (StudyInstanceUID), their series
(SeriesInstanceUID), their images, each with its `chest_view` verdict.

`group_studies` takes (path, header values) pairs from anywhere (a folder, a PACS retrieval);
`folder_studies` reads a folder's DICOM headers (pixels unread) and groups them.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from cxr_model.errors import ImageReadError
from cxr_model.imaging.dicom_header import read_meta
from cxr_model.imaging.reader import is_dicom_file
from cxr_model.imaging.views import ViewCheck, chest_view

DICOM_SUFFIXES = (".dcm", ".dicom")


@dataclass(frozen=True)
class StudyImage:
    path: Path
    meta: Mapping[str, str]
    view: ViewCheck


@dataclass(frozen=True)
class Series:
    uid: str
    number: str
    description: str
    images: tuple[StudyImage, ...]


@dataclass(frozen=True)
class StudyGroup:
    uid: str
    date: str
    description: str
    patient: str
    series: tuple[Series, ...]

    @property
    def images(self) -> tuple[StudyImage, ...]:
        return tuple(image for series in self.series for image in series.images)


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return float("inf")


def group_studies(items: Iterable[tuple[Path, Mapping[str, str]]]) -> list[StudyGroup]:
    """Group images by study and series: studies by date, series by SeriesNumber, images by
    InstanceNumber (then UID / file name). Images without UIDs share the empty UID."""
    studies: dict[str, dict[str, list[StudyImage]]] = {}
    for path, meta in items:
        image = StudyImage(Path(path), meta, chest_view(meta))
        series = studies.setdefault(meta.get("StudyInstanceUID", ""), {})
        series.setdefault(meta.get("SeriesInstanceUID", ""), []).append(image)
    groups = []
    for study_uid, by_series in studies.items():
        series = []
        for series_uid, images in by_series.items():
            images.sort(key=lambda i: (_number(i.meta.get("InstanceNumber", "")), i.path.name))
            first = images[0].meta
            series.append(
                Series(
                    series_uid,
                    first.get("SeriesNumber", ""),
                    first.get("SeriesDescription", ""),
                    tuple(images),
                )
            )
        series.sort(key=lambda s: (_number(s.number), s.uid))
        first = series[0].images[0].meta
        groups.append(
            StudyGroup(
                study_uid,
                first.get("StudyDate", ""),
                first.get("StudyDescription", ""),
                first.get("PatientName", ""),
                tuple(series),
            )
        )
    groups.sort(key=lambda g: (g.date, g.uid))
    return groups


def folder_studies(
    folder: str | os.PathLike[str], recursive: bool = False
) -> tuple[list[StudyGroup], list[tuple[Path, str]]]:
    """The studies of a folder's DICOM files (by marker or .dcm/.dicom name; in subfolders
    too with `recursive`), and the files whose header could not be read, with the reason."""
    items, unreadable = [], []
    folder = Path(folder)
    for path in sorted(folder.rglob("*") if recursive else folder.iterdir()):
        if not path.is_file() or not (path.suffix.lower() in DICOM_SUFFIXES or is_dicom_file(path)):
            continue
        try:
            items.append((path, read_meta(path)))
        except ImageReadError as exc:
            unreadable.append((path, exc.reason))
    return group_studies(items), unreadable
