"""Reading training CSVs in the pairs.csv format (image path relative to the CSV)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cxr_model.errors import DataError
from cxr_model.imaging.preprocess import InputSpec, preprocess
from cxr_model.imaging.reader import read_image

REQUIRED_COLUMNS = ("image", "report", "label", "split")


@dataclass(frozen=True)
class Example:
    """One labelled study: absolute image path, report text (may be empty), 0/1 label."""

    image: Path
    report: str
    label: int
    split: str


def read_examples(csv_path: str | Path, split: str | None = None) -> list[Example]:
    """Rows of a pairs CSV (optionally one split); image paths resolved against the CSV."""
    csv_path = Path(csv_path)
    try:
        with open(csv_path, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise DataError(f"missing column(s) {', '.join(missing)}", csv_path)
            rows = list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"cannot read the CSV ({exc})", csv_path) from exc
    examples = []
    for number, row in enumerate(rows, start=2):
        if split is not None and row["split"] != split:
            continue
        if row["label"] not in ("0", "1"):
            raise DataError(f"line {number}: label must be 0 or 1, not {row['label']!r}", csv_path)
        examples.append(
            Example(
                csv_path.parent / row["image"], row["report"] or "", int(row["label"]), row["split"]
            )
        )
    if split is not None and not examples:
        raise DataError(f"no rows with split {split!r}", csv_path)
    return examples


def read_column(csv_path: str | Path, split: str, column: str) -> list[str]:
    """The values of `column` for the rows of `split`, in the order of `read_examples`."""
    csv_path = Path(csv_path)
    try:
        with open(csv_path, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            if column not in (reader.fieldnames or []):
                raise DataError(
                    f"no column {column!r} (`cxr dataset from-folder --keep-columns` copies "
                    "it from the labels file)",
                    csv_path,
                )
            return [row[column] for row in reader if row["split"] == split]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"cannot read the CSV ({exc})", csv_path) from exc


def load_arrays(examples: list[Example], spec: InputSpec) -> np.ndarray:
    """Preprocessed images (N, 1, S, S) through the same function the app uses."""
    return np.stack([preprocess(read_image(e.image, max_side=spec.size), spec) for e in examples])
