"""Writing a pairs CSV safely: never over an input, relative image paths, counts kept."""

from __future__ import annotations

import csv
import os
import stat
from collections.abc import Iterable, Sequence
from pathlib import Path

from cxr_model.errors import DataError
from cxr_model.training.build_summary import OUTPUT_COLUMNS, BuildSummary, Row


def check_output(out_csv: Path, inputs: Iterable[Path]) -> None:
    """Refuse an output path that is a folder, an input, or in a read-only folder."""
    if out_csv.is_dir():
        raise DataError("is a folder; give the path of the CSV file to write", out_csv)
    for path in inputs:
        try:
            if path.is_file() and out_csv.exists() and out_csv.samefile(path):
                raise DataError("would overwrite an input file", out_csv)
        except OSError:
            pass
    folder = out_csv.absolute().parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise DataError(f"cannot write the output: {folder} is not a folder", out_csv)
    # Honour read-only folders even for root (the shared data must never be written to).
    if not (folder.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)) or not os.access(
        folder, os.W_OK
    ):
        raise DataError(f"cannot write the output: folder {folder} is read-only", out_csv)


def relative_name(image: Path, folder: Path) -> str:
    try:
        return Path(os.path.relpath(image.absolute(), folder.absolute())).as_posix()
    except ValueError:  # another drive (Windows)
        return image.absolute().as_posix()


def write_pairs(
    rows: list[Row], out_csv: Path, summary: BuildSummary, kept: Sequence[str] = ()
) -> BuildSummary:
    if not rows:
        reasons = ", ".join(
            f"{reason} ({len(items)})"
            for reason, items in sorted(summary.skipped.items(), key=lambda kv: -len(kv[1]))
        )
        raise DataError(
            "no row to write: everything was skipped" + (f" ({reasons})" if reasons else ""),
            out_csv,
        )
    folder = out_csv.absolute().parent
    tmp = folder / f".{out_csv.name}.{os.getpid()}.tmp"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with open(tmp, "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow([*OUTPUT_COLUMNS, *kept])
            for row in rows:
                writer.writerow(
                    [
                        relative_name(row.image, folder),
                        row.report,
                        row.label,
                        row.split,
                        row.patient_id,
                        row.report_uid,
                        row.report_mesh,
                        *row.kept,
                    ]
                )
        os.replace(tmp, out_csv)
    except OSError as exc:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass
        raise DataError(f"cannot write the output ({exc.strerror or exc})", out_csv) from exc
    for row in rows:
        summary.per_split_label.setdefault(row.split, {0: 0, 1: 0})
        summary.per_split_label[row.split][row.label] += 1
        summary.empty_reports += not row.report
    summary.rows = len(rows)
    return summary
