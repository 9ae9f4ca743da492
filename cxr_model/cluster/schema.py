"""The scan's result rows (`RESULT_FIELDS`) as an Arrow table with a fixed schema."""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa

from cxr_model.inference.scan import RESULT_FIELDS

_TYPES = {
    "file": pa.string(),
    "probability": pa.float64(),
    "image_probability": pa.float64(),
    "text_probability": pa.float64(),
    "label": pa.string(),
    "threshold": pa.float64(),
    "used_report": pa.bool_(),
    "discordant": pa.bool_(),
    "uncertain": pa.bool_(),
    "ood": pa.bool_(),
    "ood_reason": pa.string(),
    "error": pa.string(),
    "model": pa.string(),
}
#: RESULT_FIELDS in order, each with its Arrow type (a field without one fails at import).
RESULT_SCHEMA = pa.schema([(name, _TYPES[name]) for name in RESULT_FIELDS])


def rows_table(rows: Sequence[dict]) -> pa.Table:
    """Result rows as a table of RESULT_SCHEMA (None stays null)."""
    return pa.Table.from_pylist(list(rows), schema=RESULT_SCHEMA)
