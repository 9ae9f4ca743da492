"""Study queries (the `cxr pacs find` filters) and the studies a node answers with."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from pydicom.dataset import Dataset

_DATE = re.compile(r"^\d{8}$")
_MODALITY = re.compile(r"^[A-Z0-9_]{1,16}$")
#: Studies a find returns unless --limit says otherwise.
DEFAULT_LIMIT = 100


def _date_range(text: str) -> str:
    """`D` or `D1-D2` (YYYYMMDD, either end may be open), as DICOM range matching."""
    parts = text.strip().split("-")
    if len(parts) > 2 or not any(parts) or not all(not p or _DATE.match(p) for p in parts):
        raise ValueError(f"{text!r} is not a study date: use YYYYMMDD or YYYYMMDD-YYYYMMDD")
    return "-".join(parts)


def parse_modalities(text: str | None) -> tuple[str, ...]:
    """`CR,DX` -> ("CR", "DX"); ValueError for anything that is not a modality code."""
    if not text:
        return ()
    values = tuple(v.strip().upper() for v in text.split(",") if v.strip())
    for value in values:
        if not _MODALITY.match(value):
            raise ValueError(f"{value!r} is not a modality (e.g. CR, DX)")
    return values


@dataclass(frozen=True)
class StudyQuery:
    """What to look for. Empty fields match everything; `patient_name` may use `*` and `?`."""

    patient_id: str | None = None
    patient_name: str | None = None
    study_date: str | None = None
    accession: str | None = None
    modalities: tuple[str, ...] = ()
    study_uid: str | None = None
    limit: int = DEFAULT_LIMIT

    def __post_init__(self) -> None:
        if self.study_date:
            object.__setattr__(self, "study_date", _date_range(self.study_date))
        if self.limit < 1:
            raise ValueError("the limit must be at least 1")

    def filters(self) -> dict[str, str]:
        """The non-empty filters as DICOM keyword -> matching value."""
        values = {
            "PatientID": self.patient_id,
            "PatientName": self.patient_name,
            "StudyDate": self.study_date,
            "AccessionNumber": self.accession,
            "ModalitiesInStudy": "\\".join(self.modalities),
            "StudyInstanceUID": self.study_uid,
        }
        return {k: v for k, v in values.items() if v}


#: The study attributes asked for, beside the filters.
RETURN_KEYS = (
    "StudyInstanceUID",
    "PatientID",
    "PatientName",
    "StudyDate",
    "AccessionNumber",
    "ModalitiesInStudy",
    "StudyDescription",
    "NumberOfStudyRelatedInstances",
)


@dataclass(frozen=True)
class StudyMatch:
    """One matching study, `None` where the node does not say (the `find --json` contract)."""

    study_uid: str
    patient_id: str | None = None
    patient_name: str | None = None
    study_date: str | None = None
    accession: str | None = None
    modalities: list[str] | None = field(default=None)
    description: str | None = None
    instances: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _text(ds: Dataset, keyword: str) -> str | None:
    value = ds.get(keyword)
    text = str(value).strip() if value is not None else ""
    return text or None


def study_from_dataset(ds: Dataset) -> StudyMatch | None:
    """A StudyMatch from a C-FIND / QIDO answer; None when it carries no Study Instance UID."""
    uid = _text(ds, "StudyInstanceUID")
    if uid is None:
        return None
    modalities = ds.get("ModalitiesInStudy")
    if modalities is not None and not isinstance(modalities, str):
        modalities = [str(m) for m in modalities if str(m).strip()]
    elif modalities:
        modalities = [m for m in str(modalities).split("\\") if m]
    count = ds.get("NumberOfStudyRelatedInstances")
    try:
        instances = int(count) if count not in (None, "") else None
    except (TypeError, ValueError):
        instances = None
    return StudyMatch(
        study_uid=uid,
        patient_id=_text(ds, "PatientID"),
        patient_name=_text(ds, "PatientName"),
        study_date=_text(ds, "StudyDate"),
        accession=_text(ds, "AccessionNumber"),
        modalities=modalities or None,
        description=_text(ds, "StudyDescription"),
        instances=instances,
    )


def query_dataset(query: StudyQuery) -> Dataset:
    """The C-FIND identifier (study root, STUDY level) for a query."""
    ds = Dataset()
    ds.QueryRetrieveLevel = "STUDY"
    for keyword in RETURN_KEYS:
        setattr(ds, keyword, "")
    for keyword, value in query.filters().items():
        setattr(ds, keyword, value)
    return ds


@dataclass(frozen=True)
class FindResult:
    """Studies found, and whether more matched than the limit let through."""

    studies: list[StudyMatch]
    truncated: bool

    @classmethod
    def of(cls, studies: list[StudyMatch], limit: int) -> FindResult:
        return cls(studies[:limit], len(studies) > limit)


def dicom_json_filters(query: StudyQuery) -> Mapping[str, str]:
    """QIDO-RS search filters (multiple modalities as a comma list)."""
    filters = dict(query.filters())
    if "ModalitiesInStudy" in filters:
        filters["ModalitiesInStudy"] = ",".join(query.modalities)
    return filters
