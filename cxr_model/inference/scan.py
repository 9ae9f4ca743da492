"""Batch folder scan shared by `cxr scan` and the app: rows stream out as files finish."""

from __future__ import annotations

import csv
import os
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from cxr_model.errors import CXRError, DataError
from cxr_model.imaging.reader import is_supported
from cxr_model.inference.predictor import Model, Prediction, Prepared
from cxr_model.inference.router import ModelSet, RoutedInput
from cxr_model.text.report import read_report

RESULT_FIELDS = (
    "file",
    "probability",
    "image_probability",
    "text_probability",
    "label",
    "threshold",
    "used_report",
    "discordant",
    "uncertain",
    "ood",
    "ood_reason",
    "error",
    "model",
)


def result_row(file: str, prediction: Prediction | None = None, error: str | None = None) -> dict:
    """One result in the CLI/CSV contract: the fields of RESULT_FIELDS."""
    row: dict = dict.fromkeys(RESULT_FIELDS)
    row["file"] = file
    if prediction is not None:
        data = prediction.to_dict()
        row.update({k: data[k] for k in RESULT_FIELDS if k in data})
    row["error"] = error
    return row


def find_images(
    folder: str | Path, recursive: bool = False
) -> tuple[list[Path], list[tuple[Path, str]]]:
    """Supported image files in a folder, sorted, and the subfolders that could not be read.

    Follows symlinks but never loops. An unreadable top folder is a DataError.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError("not a folder" if folder.exists() else "no such folder", folder)
    found, seen = [], set()
    errors: list[OSError] = []
    for root, dirs, files in os.walk(folder, followlinks=True, onerror=errors.append):
        real = os.path.realpath(root)
        if real in seen:
            dirs[:] = []
            continue
        seen.add(real)
        dirs.sort()
        if not recursive:
            dirs[:] = []
        found.extend(Path(root) / name for name in files if is_supported(Path(root) / name))
    unreadable = [(Path(e.filename), f"cannot read the folder ({e.strerror or e})") for e in errors]
    for path, reason in unreadable:
        if path == folder:
            raise DataError(reason, folder)
    return sorted(found), unreadable


def report_path(image: Path) -> Path:
    """`x.txt` beside `x.png` holds the report of `x.png`."""
    return image.with_suffix(".txt")


def read_sibling_report(image: Path) -> str | None:
    """The report `x.txt` beside `x.png`, or None when there is none."""
    sibling = report_path(image)
    return read_report(sibling) if sibling.is_file() else None


#: What scores images: one model, or the installed models choosing per image.
Scorer = Model | ModelSet

#: One study ready for the network: the preprocessed image and its report (or None).
ScanInput = tuple[Prepared | RoutedInput, str | None]


def load_study(model: Scorer, path: Path, data: bytes | None = None) -> ScanInput:
    """Decode and preprocess one image and read its report. `data` holds the image file's
    bytes when the caller has already read them (the cluster engine); else the file is read."""
    image = model.read(path) if data is None else model.read_bytes(data, str(path))
    return model.prepare(image), read_sibling_report(path)


#: One scored file: (name relative to the folder, prediction or None, error or None).
Scored = tuple[str, Prediction | None, str | None]


def score_studies(
    model: Scorer, studies: Sequence[tuple[str, Callable[[], ScanInput]]]
) -> list[Scored]:
    """Score one batch, in order: `studies` pairs each file name with a call that loads it
    (`load_study`); a load that raises CXRError becomes that file's error, the others are
    scored in one forward pass."""
    loaded, results = [], {}
    for name, load in studies:
        try:
            loaded.append((name, *load()))
        except CXRError as exc:
            results[name] = (name, None, str(exc))
    if loaded:
        predictions = model.predict_batch(
            [image for _, image, _ in loaded], [report for _, _, report in loaded]
        )
        for (name, _, _), prediction in zip(loaded, predictions, strict=True):
            results[name] = (name, prediction, None)
    return [results[name] for name, _ in studies]


def score_batch(
    model: Scorer, studies: Sequence[tuple[str, Callable[[], ScanInput]]]
) -> list[dict]:
    """`score_studies` as result rows."""
    return [result_row(*scored) for scored in score_studies(model, studies)]


def _format(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.6f}"
    return str(value)


def csv_values(row: dict, fields: tuple[str, ...] = RESULT_FIELDS) -> list[str]:
    """A result row as CSV cells in `fields` order (booleans as true/false)."""
    return [_format(row[k]) for k in fields]


def read_rows(csv_path: Path, fields: tuple[str, ...] = RESULT_FIELDS) -> list[dict]:
    """The rows of an earlier scan CSV with these columns ([] when there is no file)."""
    if not csv_path.is_file():
        return []
    try:
        with open(csv_path, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            if tuple(reader.fieldnames or ()) != fields:
                raise DataError(
                    "exists but is not a scan CSV of this version; choose another file", csv_path
                )
            return list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"cannot read the existing CSV ({exc})", csv_path) from exc


def scored_files(csv_path: Path) -> set[str]:
    """Files that an earlier scan into this CSV scored without error."""
    return {row["file"] for row in read_rows(csv_path) if not row["error"]}


class CsvSink:
    """Appends rows to a CSV, each flushed to the OS at once (a killed process loses none)
    and synced to disk at least every `sync_seconds` and on close."""

    def __init__(
        self, path: str | Path, sync_seconds: float = 1.0, fields: tuple[str, ...] = RESULT_FIELDS
    ) -> None:
        self.path = Path(path)
        self.fields = fields
        self.sync_seconds = sync_seconds
        self._synced = time.monotonic()
        new = not self.path.is_file() or self.path.stat().st_size == 0
        try:
            self.fh = open(self.path, "a", newline="", encoding="utf-8")
        except OSError as exc:
            raise DataError(f"cannot write the CSV ({exc.strerror or exc})", self.path) from exc
        self.writer = csv.writer(self.fh)
        if new:
            self._write(fields)

    def _write(self, values) -> None:
        self.writer.writerow(values)
        self.fh.flush()
        if time.monotonic() - self._synced >= self.sync_seconds:
            os.fsync(self.fh.fileno())
            self._synced = time.monotonic()

    def add(self, row: dict) -> None:
        """Write one row now."""
        self._write(csv_values(row, self.fields))

    def close(self) -> None:
        """Sync and close the file."""
        self.fh.flush()
        os.fsync(self.fh.fileno())
        self.fh.close()


@dataclass(frozen=True)
class ScanPlan:
    """What a scan will do: the files to score, unreadable subfolders, files skipped."""

    folder: Path
    files: list[Path]
    unreadable: list[tuple[Path, str]]
    skipped: int


def plan_scan(
    folder: str | Path, recursive: bool = False, skip: set[str] | frozenset[str] = frozenset()
) -> ScanPlan:
    """List a folder once: images to score (minus `skip`, names relative to the folder)."""
    folder = Path(folder)
    images, unreadable = find_images(folder, recursive)
    files = [p for p in images if p.relative_to(folder).as_posix() not in skip]
    return ScanPlan(folder, files, unreadable, len(images) - len(files))


def _folder_errors(plan: ScanPlan) -> Iterator[Scored]:
    for path, reason in plan.unreadable:
        name = path.relative_to(plan.folder).as_posix()
        yield name, None, f"{name}: {reason}"


def folder_error_rows(plan: ScanPlan) -> Iterator[dict]:
    """One error row per subfolder the plan could not read."""
    for scored in _folder_errors(plan):
        yield result_row(*scored)


def scan_predictions(
    model: Scorer,
    plan: ScanPlan,
    *,
    batch_size: int = 8,
    cancelled: Callable[[], bool] = lambda: False,
) -> Iterator[Scored]:
    """Yield (file relative to the folder, prediction or None, error or None) per planned
    image, in order, as batches finish.

    Unreadable subfolders come first as errors. Files are decoded and preprocessed on two
    threads while the model runs; a bad file yields its error and the scan goes on. Stops
    between batches when `cancelled()` is true.
    """
    folder, files = plan.folder, plan.files
    yield from _folder_errors(plan)
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = [pool.submit(load_study, model, path) for path in files[: batch_size * 2]]
        for start in range(0, len(files), batch_size):
            if cancelled():
                for future in futures:
                    future.cancel()
                return
            chunk = files[start : start + batch_size]
            studies = [
                (path.relative_to(folder).as_posix(), future.result)
                for path, future in zip(chunk, futures, strict=False)
            ]
            futures = futures[len(chunk) :]
            following = files[start + batch_size * 2 : start + batch_size * 3]
            futures += [pool.submit(load_study, model, path) for path in following]
            yield from score_studies(model, studies)


def scan(
    model: Scorer,
    plan: ScanPlan,
    *,
    batch_size: int = 8,
    cancelled: Callable[[], bool] = lambda: False,
) -> Iterator[dict]:
    """Yield one result row per planned image (file relative to the folder) as batches finish
    (see `scan_predictions`)."""
    for scored in scan_predictions(model, plan, batch_size=batch_size, cancelled=cancelled):
        yield result_row(*scored)
