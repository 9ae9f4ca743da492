"""`cxr dataset`: build a training CSV (the ``pairs.csv`` format) from raw sources.

Two sources:

* ``from-folder``: a folder of images with same-stem ``.txt`` reports plus a labels CSV
  (``image``, ``label`` as 0/1 or normal/abnormal, optional ``split`` and ``patient_id``).
* ``from-openi``: Open-i ``ecgen-radiology/*.xml`` reports (a ``.tgz``/``.tar`` read in place,
  or a folder) plus a folder of images named ``<parentImage id>.png|.jpg|.jpeg|.dcm``.

Reports are cleaned by `cxr_model.text.report_cleaning`, Open-i XML read by
`cxr_model.training.openi`, splits assigned by `splits`, the CSV written by `pairs_output`;
this module puts them together. Missing splits are assigned by patient (Open-i: by
report, merged with reports that share an ``IM-NNNN`` image series) so no patient spans two
splits. Everything that is left out is counted per reason in the :class:`BuildSummary`.
Every failure is a :class:`~cxr_model.errors.DataError`.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from pathlib import Path, PurePosixPath

from cxr_model.errors import DataError, ReportReadError, SkippedError
from cxr_model.imaging.reader import SUPPORTED_SUFFIXES
from cxr_model.text.report import read_report
from cxr_model.text.report_cleaning import clean_report
from cxr_model.training.build_summary import (
    AMBIGUOUS_NAME,
    BAD_LABEL,
    BAD_SPLIT,
    DEFAULT_FRACTIONS,
    DUPLICATE_LABEL,
    EMPTY_REPORT,
    LABEL_IMAGE_MISSING,
    NO_IMAGE,
    NO_MESH,
    NOT_IN_LABELS,
    NOT_IN_TERMS,
    OUTPUT_COLUMNS,
    SPLITS,
    UNREADABLE_REPORT,
    BuildSummary,
    Row,
    natural_key,
)
from cxr_model.training.openi import (
    OPENI_IMAGE_SUFFIXES,
    openi_groups,
    openi_label,
    read_openi_reports,
)
from cxr_model.training.pairs_output import check_output, write_pairs
from cxr_model.training.splits import check_fractions, split_rows
from cxr_model.vocabulary import Label

_LABEL_WORDS = {"0": 0, "1": 1, Label.NORMAL: 0, Label.ABNORMAL: 1}


def _require_folder(path: Path, what: str) -> None:
    if not path.exists():
        raise DataError(f"no such {what}", path)
    if not path.is_dir():
        raise DataError(f"not a folder (expected the {what})", path)


def _image_files(folder: Path, suffixes: Iterable[str]) -> list[Path]:
    wanted = {s.lower() for s in suffixes}
    found = []
    for path in folder.rglob("*"):
        rel = path.relative_to(folder)
        if any(part.startswith(".") for part in rel.parts):
            continue
        if path.suffix.lower() in wanted and path.is_file():
            found.append(path)
    return sorted(found, key=lambda p: natural_key(p.relative_to(folder).as_posix()))


def build_from_openi(
    reports_source: str | Path,
    images_dir: str | Path,
    out_csv: str | Path,
    *,
    abnormal_terms: Sequence[str] | None = None,
    keep_empty: bool = False,
    seed: int = 0,
    fractions: Sequence[float] = DEFAULT_FRACTIONS,
) -> BuildSummary:
    """Build a pairs CSV from Open-i XML reports and a folder of their images.

    One row per image found (``<parentImage id>`` + .png/.jpg/.jpeg/.dcm, searched
    recursively). Label 0 when every MeSH major tag is ``normal``, else 1 (restricted to
    ``abnormal_terms`` when given). Splits are assigned per report, keeping reports that
    share an ``IM-NNNN`` image series together (written as ``patient_id``).
    """
    reports_source, images_dir, out_csv = Path(reports_source), Path(images_dir), Path(out_csv)
    check_fractions(fractions)
    terms = [t.strip() for t in abnormal_terms or () if t.strip()] or None
    _require_folder(images_dir, "image folder")
    check_output(out_csv, [reports_source])
    summary = BuildSummary(out_csv=out_csv, source=f"Open-i {reports_source}")
    reports = read_openi_reports(reports_source, summary)
    index: dict[str, Path] = {}
    for path in _image_files(images_dir, OPENI_IMAGE_SUFFIXES):
        best = index.get(path.stem)
        if best is None or (
            OPENI_IMAGE_SUFFIXES.index(path.suffix.lower())
            < OPENI_IMAGE_SUFFIXES.index(best.suffix.lower())
        ):
            index[path.stem] = path
    groups = openi_groups(reports)
    rows: list[Row] = []
    missing_images = 0
    for report in reports:
        try:
            label = openi_label(report.mesh_major, terms)
            if label is None:
                raise SkippedError(NOT_IN_TERMS if report.mesh_major else NO_MESH)
            found = [index[i] for i in report.image_ids if i in index]
            if not found:
                raise SkippedError(NO_IMAGE)
            text = report.text
            if not text and not keep_empty:
                raise SkippedError(EMPTY_REPORT)
        except SkippedError as exc:
            summary.skip(exc.reason, report.uid)
            continue
        missing_images += len(report.image_ids) - len(found)
        summary.reports_per_label[label] = summary.reports_per_label.get(label, 0) + 1
        rows.extend(
            Row(
                image=image,
                report=text,
                label=label,
                group=groups[report.uid],
                patient_id=groups[report.uid],
                report_uid=report.uid,
                report_mesh=";".join(report.mesh_major),
            )
            for image in found
        )
    if missing_images:
        summary.notes.append(
            f"{missing_images} image(s) of written reports are not in "
            f"{images_dir} (their reports were kept with the others)"
        )
    summary.notes.append(
        f"{len(reports)} report(s) parsed; splits by report, reports sharing "
        "an IM-NNNN image series kept together"
    )
    split_rows(rows, seed, fractions, summary)
    return write_pairs(rows, out_csv, summary)


def _read_labels(labels_csv: Path) -> tuple[list[dict[str, str]], bool, bool]:
    """Rows of the labels CSV (keys lower-cased), and whether split / patient_id exist."""
    if not labels_csv.exists():
        raise DataError("no such labels file", labels_csv)
    if labels_csv.is_dir():
        raise DataError("is a folder, not a labels CSV", labels_csv)
    try:
        with open(labels_csv, newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh)
            header = [h.strip().lower() for h in next(reader, [])]
            if "image" not in header and "filename" in header:  # NIH-style labels files
                header[header.index("filename")] = "image"
            missing = [c for c in ("image", "label") if c not in header]
            if missing:
                raise DataError(
                    f"cannot read the labels file: missing column(s) "
                    f"{', '.join(missing)} (need image or filename, and label)",
                    labels_csv,
                )
            rows = [
                dict(zip(header, (v.strip() for v in values), strict=False))
                for values in reader
                if any(v.strip() for v in values)
            ]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"cannot read the labels file ({exc})", labels_csv) from exc
    return rows, "split" in header, "patient_id" in header


def build_from_folder(
    images_dir: str | Path,
    labels_csv: str | Path,
    out_csv: str | Path,
    *,
    seed: int = 0,
    fractions: Sequence[float] = DEFAULT_FRACTIONS,
    keep_columns: Sequence[str] = (),
) -> BuildSummary:
    """Build a pairs CSV from a folder of images with same-stem ``.txt`` reports.

    ``labels_csv`` names each image (file name, or path relative to ``images_dir``) with a
    label (0/1 or normal/abnormal) and optionally its ``split`` and ``patient_id``. Images
    without a report get an empty one; unlabelled images and labels of missing images are
    skipped. Missing splits are assigned by patient (by image without ``patient_id``).
    ``keep_columns`` (e.g. view, age) are copied from the labels file into the output.
    """
    images_dir, labels_csv, out_csv = Path(images_dir), Path(labels_csv), Path(out_csv)
    check_fractions(fractions)
    _require_folder(images_dir, "image folder")
    labels, has_split, has_patient = _read_labels(labels_csv)
    kept = [c.strip().lower() for c in keep_columns]
    clashes = [c for c in kept if c in OUTPUT_COLUMNS]
    absent = [c for c in kept if labels and c not in labels[0]]
    if clashes or absent:
        raise DataError(
            "cannot keep column(s) "
            + ", ".join(
                [f"{c} (an output column already)" for c in clashes]
                + [f"{c} (not in the labels file)" for c in absent]
            ),
            labels_csv,
        )
    check_output(out_csv, [labels_csv])
    summary = BuildSummary(out_csv=out_csv, source=f"folder {images_dir}")
    images = _image_files(images_dir, SUPPORTED_SUFFIXES)
    by_rel = {p.relative_to(images_dir).as_posix(): p for p in images}
    by_name: dict[str, list[Path]] = {}
    for path in images:
        by_name.setdefault(path.name, []).append(path)
    labelled: dict[Path, str] = {}
    rows: list[Row] = []
    for number, entry in enumerate(labels, start=2):
        name = entry.get("image", "").replace("\\", "/").strip()
        try:
            if not name:
                raise SkippedError(LABEL_IMAGE_MISSING, f"line {number}: empty image name")
            image = by_rel.get(str(PurePosixPath(name)).removeprefix("./"))
            if image is None and "/" not in name:
                matches = by_name.get(name, [])
                if len(matches) > 1:
                    raise SkippedError(AMBIGUOUS_NAME, f"{name} ({len(matches)} files)")
                image = matches[0] if matches else None
            if image is None:
                raise SkippedError(LABEL_IMAGE_MISSING, name)
            if image in labelled:
                raise SkippedError(
                    DUPLICATE_LABEL, f"{name} (line {number}, first on {labelled[image]})"
                )
            labelled[image] = f"line {number}"
            label = _LABEL_WORDS.get(entry.get("label", "").lower())
            if label is None:
                raise SkippedError(BAD_LABEL, f"{name} ({entry.get('label', '')!r})")
            split = entry.get("split", "").lower() if has_split else ""
            if split and split not in SPLITS:
                raise SkippedError(BAD_SPLIT, f"{name} ({entry.get('split', '')!r})")
            report_file = image.with_suffix(".txt")
            if report_file.is_file():
                try:
                    text = clean_report(read_report(report_file))
                except ReportReadError as exc:
                    raise SkippedError(
                        UNREADABLE_REPORT, f"{report_file.name} ({exc.reason})"
                    ) from None
            else:
                text = ""
                summary.missing_reports += 1
        except SkippedError as exc:
            summary.skip(exc.reason, exc.detail or name)
            continue
        rel = image.relative_to(images_dir).as_posix()
        patient = entry.get("patient_id", "") if has_patient else ""
        rows.append(
            Row(
                image=image,
                report=text,
                label=label,
                split=split,
                group=("patient:" + patient) if patient else ("image:" + rel),
                patient_id=patient,
                kept=tuple(entry.get(c, "") for c in kept),
            )
        )
    for image in images:
        if image not in labelled:
            summary.skip(NOT_IN_LABELS, image.relative_to(images_dir).as_posix())
    if not has_patient:
        summary.notes.append("no patient_id column: splits assigned per image")
    elif any(not row.patient_id for row in rows):
        summary.notes.append("rows without patient_id were split per image")
    split_rows(rows, seed, fractions, summary)
    return write_pairs(rows, out_csv, summary, kept)
