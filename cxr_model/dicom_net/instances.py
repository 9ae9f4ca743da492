"""Which DICOM instances the model scores (frontal CR/DX chest images), and their CSV rows:
the `cxr scan` columns plus the instance's UIDs."""

from __future__ import annotations

from pydicom.dataset import Dataset

from cxr_model.inference.predictor import Prediction
from cxr_model.inference.scan import RESULT_FIELDS, result_row

#: `cxr pacs scan` and `cxr listen` CSV columns.
PACS_FIELDS = (*RESULT_FIELDS, "study_uid", "series_uid", "sop_uid")
MODALITIES = ("CR", "DX")
FRONTAL_VIEWS = ("PA", "AP")
#: Start of the reason given for an instance that is not a frontal chest X-ray: such a row
#: is final (a rescan does not try it again), unlike one whose scoring failed.
NOT_SCORED = "not scored: "


def _text(ds: Dataset, keyword: str) -> str:
    try:
        return str(ds.get(keyword, "") or "").strip().upper()
    except Exception:  # an element that does not decode reads as absent
        return ""


def not_scored_reason(ds: Dataset) -> str | None:
    """Why the model does not score this instance, or None for a frontal CR/DX image.
    Reads the header only (a dataset read without its pixels will do)."""
    if "Rows" not in ds or "Columns" not in ds:
        kind = _text(ds, "Modality") or "no modality"
        return f"{NOT_SCORED}not an image ({kind})"
    modality = _text(ds, "Modality")
    if modality not in MODALITIES:
        return f"{NOT_SCORED}modality {modality or 'missing'} (only CR and DX are scored)"
    view = _text(ds, "ViewPosition")
    if view not in FRONTAL_VIEWS:
        return (f"{NOT_SCORED}view position {view or 'missing'} (only frontal PA and AP "
                "chest images are scored)")
    return None


def instance_row(file: str, uids: tuple[str, str, str], prediction: Prediction | None = None,
                 error: str | None = None) -> dict:
    """One row of PACS_FIELDS."""
    row = result_row(file, prediction, error)
    row["study_uid"], row["series_uid"], row["sop_uid"] = uids
    return row


def is_final(row: dict) -> bool:
    """True for a row that a rescan keeps: scored, or not a frontal chest image."""
    return not row["error"] or row["error"].startswith(NOT_SCORED)
