"""Which DICOM instances the model scores (frontal chest radiographs, by the product's one
rule), and their CSV rows: the `cxr scan` columns plus the instance's UIDs."""

from __future__ import annotations

from pydicom.dataset import Dataset

from cxr_model.imaging.dicom_meta import header_values
from cxr_model.imaging.views import chest_view
from cxr_model.inference.predictor import Prediction
from cxr_model.inference.scan import RESULT_FIELDS, result_row

#: `cxr pacs scan` and `cxr listen` CSV columns.
PACS_FIELDS = (*RESULT_FIELDS, "study_uid", "series_uid", "sop_uid")
#: Start of the reason given for an instance that is not a frontal chest X-ray: such a row
#: is final (a rescan does not try it again), unlike one whose scoring failed.
NOT_SCORED = "not scored: "


def not_scored_reason(ds: Dataset) -> str | None:
    """Why the model does not score this instance, or None: an image is scored when the
    product's frontal-chest rule (`cxr_model.imaging.views.chest_view`) says so. Reads the
    header only (a dataset read without its pixels will do)."""
    meta = header_values(ds)
    if "Rows" not in ds or "Columns" not in ds:
        return f"{NOT_SCORED}not an image ({meta.get('Modality', 'no modality')})"
    check = chest_view(meta)
    return None if check.scored else f"{NOT_SCORED}{check.reason}"


def instance_row(
    file: str,
    uids: tuple[str, str, str],
    prediction: Prediction | None = None,
    error: str | None = None,
) -> dict:
    """One row of PACS_FIELDS."""
    row = result_row(file, prediction, error)
    row["study_uid"], row["series_uid"], row["sop_uid"] = uids
    return row


def is_final(row: dict) -> bool:
    """True for a row that a rescan keeps: scored, or not a frontal chest image."""
    return not row["error"] or row["error"].startswith(NOT_SCORED)
