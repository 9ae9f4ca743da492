"""`cxr dataset`: build a training CSV (the ``pairs.csv`` format) from raw sources.

Two sources:

* ``from-folder``: a folder of images with same-stem ``.txt`` reports plus a labels CSV
  (``image``, ``label`` as 0/1 or normal/abnormal, optional ``split`` and ``patient_id``).
* ``from-openi``: Open-i ``ecgen-radiology/*.xml`` reports (a ``.tgz``/``.tar`` read in place,
  or a folder) plus a folder of images named ``<parentImage id>.png|.jpg|.jpeg|.dcm``.

Reports are cleaned to ``FINDINGS: ...\\nIMPRESSION: ...`` (whitespace collapsed, other
sections and empty sections dropped). Missing splits are assigned by patient (Open-i: by
report, merged with reports that share an ``IM-NNNN`` image series) so no patient spans two
splits. Everything that is left out is counted per reason in the :class:`BuildSummary`.
Every failure is a :class:`~cxr_model.errors.DataError`.
"""

from __future__ import annotations

import csv
import math
import os
import random
import re
import stat
import tarfile
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from xml.etree import ElementTree as ET
from xml.parsers import expat

from cxr_model.errors import DataError, ReportReadError
from cxr_model.imaging.reader import SUPPORTED_SUFFIXES, read_report

__all__ = [
    "DEFAULT_FRACTIONS",
    "OUTPUT_COLUMNS",
    "BuildSummary",
    "OpenIReport",
    "assign_splits",
    "build_from_folder",
    "build_from_openi",
    "clean_report",
    "format_report",
    "openi_label",
    "parse_openi_xml",
    "read_openi_reports",
]

OUTPUT_COLUMNS = ("image", "report", "label", "split", "patient_id", "report_uid", "report_mesh")
SPLITS = ("train", "val", "test")
DEFAULT_FRACTIONS: tuple[float, float, float] = (0.7, 0.15, 0.15)
#: Image suffixes looked up for an Open-i ``parentImage`` id, in order of preference.
OPENI_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".dcm")
#: Largest Open-i XML file parsed (real ones are about 5 kB).
MAX_XML_BYTES = 2 * 1024 * 1024
#: Examples shown per skip reason by :meth:`BuildSummary.format`.
EXAMPLES_SHOWN = 3

# Skip reasons (the keys of BuildSummary.skipped).
NO_IMAGE = "no image found"
EMPTY_REPORT = "empty report"
MALFORMED_XML = "malformed XML"
REFUSED_XML = "XML refused (DOCTYPE/ENTITY declarations are not allowed)"
UNREADABLE_XML = "unreadable XML file"
DUPLICATE_UID = "duplicate report uid"
NO_MESH = "no MeSH major tag"
NOT_IN_TERMS = "abnormal, but no MeSH major tag matches --abnormal-terms"
NOT_IN_LABELS = "image not in the labels file"
LABEL_IMAGE_MISSING = "labelled image not found in the folder"
AMBIGUOUS_NAME = "labelled image name matches several files"
BAD_LABEL = "label is not 0/1/normal/abnormal"
BAD_SPLIT = "split is not train/val/test"
DUPLICATE_LABEL = "image labelled more than once"
UNREADABLE_REPORT = "unreadable report file"

_LABEL_WORDS = {"0": 0, "1": 1, "normal": 0, "abnormal": 1}
_LABEL_NAMES = {0: "normal", 1: "abnormal"}
_IM_SERIES = re.compile(r"IM-\d+")
_KEPT_SECTIONS = {
    "finding": "FINDINGS",
    "findings": "FINDINGS",
    "impression": "IMPRESSION",
    "impressions": "IMPRESSION",
}
_OTHER_SECTIONS = (
    "indication",
    "indications",
    "comparison",
    "comparisons",
    "history",
    "clinical history",
    "technique",
    "examination",
    "exam",
    "procedure",
    "reason for exam",
    "clinical information",
    "conclusion",
    "conclusions",
    "recommendation",
    "recommendations",
    "summary",
    "addendum",
)
_HEADER = re.compile(
    r"(?:^|(?<=[.;]) )[ \t]*("
    + "|".join(
        sorted((re.escape(n) for n in [*_KEPT_SECTIONS, *_OTHER_SECTIONS]), key=len, reverse=True)
    )
    + r")[ \t]*:",
    re.IGNORECASE | re.MULTILINE,
)


# --------------------------------------------------------------------------- summary


@dataclass
class BuildSummary:
    """What a build wrote and what it left out (and why)."""

    out_csv: Path
    source: str
    rows: int = 0
    #: ``{split: {0: normal rows, 1: abnormal rows}}`` for train, val and test.
    per_split_label: dict[str, dict[int, int]] = field(
        default_factory=lambda: {s: {0: 0, 1: 0} for s in SPLITS}
    )
    #: reason -> items skipped for it (image names, report files or uids, with details).
    skipped: dict[str, list[str]] = field(default_factory=dict)
    #: Distinct reports written per label (Open-i only; empty for from-folder).
    reports_per_label: dict[int, int] = field(default_factory=dict)
    #: Images written without a report file (from-folder).
    missing_reports: int = 0
    #: Rows written with an empty report.
    empty_reports: int = 0
    notes: list[str] = field(default_factory=list)

    def skip(self, reason: str, item: str) -> None:
        """Record one skipped item under ``reason``."""
        self.skipped.setdefault(reason, []).append(item)

    @property
    def skipped_count(self) -> int:
        """Items skipped for any reason."""
        return sum(len(items) for items in self.skipped.values())

    def format(self) -> str:
        """A human summary: rows per split and label, then skip reasons with examples."""
        lines = [
            f"wrote {self.rows} row(s) to {self.out_csv} (from {self.source})",
            f"  {'split':<6} {'normal':>8} {'abnormal':>9} {'total':>7}",
        ]
        totals = {0: 0, 1: 0}
        for split in SPLITS:
            counts = self.per_split_label.get(split, {})
            normal, abnormal = counts.get(0, 0), counts.get(1, 0)
            totals[0] += normal
            totals[1] += abnormal
            lines.append(f"  {split:<6} {normal:>8} {abnormal:>9} {normal + abnormal:>7}")
        lines.append(f"  {'all':<6} {totals[0]:>8} {totals[1]:>9} {totals[0] + totals[1]:>7}")
        if self.reports_per_label:
            lines.append(
                f"  distinct reports: {self.reports_per_label.get(0, 0)} normal, "
                f"{self.reports_per_label.get(1, 0)} abnormal"
            )
        if self.missing_reports:
            lines.append(
                f"  {self.missing_reports} image(s) had no report file "
                "(written with an empty report)"
            )
        if self.empty_reports:
            lines.append(f"  {self.empty_reports} row(s) have an empty report")
        if self.skipped:
            lines.append(f"skipped {self.skipped_count}:")
            for reason, items in sorted(self.skipped.items(), key=lambda kv: -len(kv[1])):
                shown = ", ".join(items[:EXAMPLES_SHOWN])
                more = ", ..." if len(items) > EXAMPLES_SHOWN else ""
                lines.append(f"  {reason}: {len(items)} (e.g. {shown}{more})")
        else:
            lines.append("skipped nothing")
        lines.extend(f"note: {note}" for note in self.notes)
        return "\n".join(lines)


@dataclass
class _Row:
    image: Path
    report: str
    label: int
    group: str
    split: str = ""
    patient_id: str = ""
    report_uid: str = ""
    report_mesh: str = ""
    #: values of the labels file's kept columns (`build_from_folder(keep_columns=...)`)
    kept: tuple[str, ...] = ()


class _Skip(Exception):
    """Internal: one item is left out for ``reason`` (``detail`` goes into the example)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


# --------------------------------------------------------------------------- reports


def _collapse(text: str | None) -> str:
    return " ".join((text or "").split())


def format_report(findings: str | None, impression: str | None) -> str:
    """``FINDINGS: ...\\nIMPRESSION: ...`` with whitespace collapsed; empty sections omitted."""
    parts = [
        f"{name}: {text}"
        for name, text in (("FINDINGS", _collapse(findings)), ("IMPRESSION", _collapse(impression)))
        if text
    ]
    return "\n".join(parts)


def clean_report(text: str) -> str:
    """Clean a free-text report: keep FINDINGS and IMPRESSION, collapse whitespace.

    Section headers (``FINDINGS:``, ``Impression:``, ``INDICATION:``...) are recognised at
    the start of a line or after a sentence. Text with no recognised header at all is kept
    whole (whitespace collapsed); otherwise only FINDINGS and IMPRESSION survive.
    """
    matches = list(_HEADER.finditer(text))
    if not matches:
        return _collapse(text)
    sections: dict[str, list[str]] = {"FINDINGS": [], "IMPRESSION": []}
    for index, match in enumerate(matches):
        end = matches[index + 1].start() if index + 1 < len(matches) else len(text)
        name = _KEPT_SECTIONS.get(" ".join(match.group(1).lower().split()))
        if name is not None:
            sections[name].append(text[match.end() : end])
    return format_report(" ".join(sections["FINDINGS"]), " ".join(sections["IMPRESSION"]))


# --------------------------------------------------------------------------- Open-i


@dataclass(frozen=True)
class OpenIReport:
    """One Open-i radiology report as parsed from its XML file."""

    uid: str
    file: str
    findings: str
    impression: str
    mesh_major: tuple[str, ...]
    image_ids: tuple[str, ...]

    @property
    def text(self) -> str:
        """The cleaned report (``FINDINGS: ...\\nIMPRESSION: ...``; may be empty)."""
        return format_report(self.findings, self.impression)


def _refuse(*_args: object) -> None:
    raise _Skip(REFUSED_XML)


def parse_openi_xml(data: bytes, name: str = "<xml>") -> OpenIReport:
    """Parse one Open-i XML document; raise :class:`DataError` when it is unusable.

    Documents declaring a DOCTYPE or entities are refused before ElementTree sees them
    (no entity expansion, no external resources).
    """
    try:
        return _parse_openi(data, name)
    except _Skip as exc:
        raise DataError(f"{exc.reason}{': ' + exc.detail if exc.detail else ''}", name) from None


def _parse_openi(data: bytes, name: str) -> OpenIReport:
    guard = expat.ParserCreate()
    guard.StartDoctypeDeclHandler = _refuse
    guard.EntityDeclHandler = _refuse
    guard.UnparsedEntityDeclHandler = _refuse
    guard.ExternalEntityRefHandler = _refuse
    try:
        guard.Parse(data, True)
        root = ET.fromstring(data)
    except (expat.ExpatError, ET.ParseError) as exc:
        raise _Skip(MALFORMED_XML, str(exc)) from None
    except (ValueError, RecursionError) as exc:
        raise _Skip(MALFORMED_XML, type(exc).__name__) from None
    uid_el = root.find("uId")
    uid = (uid_el.get("id") if uid_el is not None else None) or ""
    uid = uid.strip() or PurePosixPath(name).stem
    sections: dict[str, list[str]] = {"FINDINGS": [], "IMPRESSION": []}
    for element in root.iter("AbstractText"):
        label = (element.get("Label") or "").strip().upper()
        if label in sections:
            sections[label].append("".join(element.itertext()))
    mesh = tuple(
        t for t in (_collapse("".join(e.itertext())) for e in root.findall("MeSH/major")) if t
    )
    images = tuple(i for i in ((e.get("id") or "").strip() for e in root.iter("parentImage")) if i)
    return OpenIReport(
        uid=uid,
        file=name,
        findings=_collapse(" ".join(sections["FINDINGS"])),
        impression=_collapse(" ".join(sections["IMPRESSION"])),
        mesh_major=mesh,
        image_ids=tuple(dict.fromkeys(images)),
    )


def openi_label(
    mesh_major: Sequence[str], abnormal_terms: Sequence[str] | None = None
) -> int | None:
    """0 when every MeSH major tag is ``normal``, else 1; None when the report is unusable.

    None means no MeSH major tag, or (with ``abnormal_terms``) an abnormal report none of
    whose tags contains one of the terms (case-insensitive substring).
    """
    if not mesh_major:
        return None
    if all(tag.strip().lower() == "normal" for tag in mesh_major):
        return 0
    if abnormal_terms:
        terms = [t.lower() for t in abnormal_terms]
        if not any(term in tag.lower() for tag in mesh_major for term in terms):
            return None
    return 1


def _natural_key(text: str) -> list[object]:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text)]


def _iter_xml(source: Path) -> Iterator[tuple[str, bytes | _Skip]]:
    """(name, bytes or a skip) for every ``*.xml`` of a tar archive, XML file or folder."""
    if source.is_dir():
        for path in sorted(source.rglob("*.xml"), key=lambda p: _natural_key(str(p))):
            if path.name.startswith("._") or not path.is_file():
                continue
            name = path.relative_to(source).as_posix()
            try:
                size = path.stat().st_size
                if size > MAX_XML_BYTES:
                    yield name, _Skip(UNREADABLE_XML, f"{size} bytes, over the limit")
                    continue
                yield name, path.read_bytes()
            except OSError as exc:
                yield name, _Skip(UNREADABLE_XML, exc.strerror or str(exc))
        return
    if source.suffix.lower() == ".xml":
        try:
            yield source.name, source.read_bytes()
        except OSError as exc:
            raise DataError(f"cannot read the XML file ({exc.strerror or exc})", source) from exc
        return
    try:
        with tarfile.open(source, "r:*") as tar:
            for member in tar:
                base = PurePosixPath(member.name).name
                if not member.isfile() or not base.lower().endswith(".xml"):
                    continue
                if base.startswith("._"):
                    continue
                if member.size > MAX_XML_BYTES:
                    yield member.name, _Skip(UNREADABLE_XML, f"{member.size} bytes, over the limit")
                    continue
                handle = tar.extractfile(member)
                if handle is None:
                    yield member.name, _Skip(UNREADABLE_XML, "not a regular archive member")
                    continue
                with handle:
                    yield member.name, handle.read()
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        raise DataError(f"cannot read the archive ({exc})", source) from exc


def read_openi_reports(
    reports_source: str | Path, summary: BuildSummary | None = None
) -> list[OpenIReport]:
    """Every parseable report of a ``.tgz``/``.tar``, ``.xml`` file or folder of Open-i XML.

    Unusable files (malformed, DOCTYPE/ENTITY, duplicate uid) are recorded in ``summary``
    (when given) and left out. Raises :class:`DataError` when the source cannot be read or
    holds no XML file at all.
    """
    source = Path(reports_source)
    if not source.exists():
        raise DataError(
            "no such file or folder (expected a .tgz of Open-i XML or a folder)", source
        )
    if source.is_file() and source.suffix.lower() != ".xml" and not _is_tar(source):
        raise DataError("not a tar archive, .xml file or folder of Open-i XML reports", source)
    reports: list[OpenIReport] = []
    seen: dict[str, str] = {}
    files = 0
    for name, data in _iter_xml(source):
        files += 1
        try:
            if isinstance(data, _Skip):
                raise data
            report = _parse_openi(data, name)
            if report.uid in seen:
                raise _Skip(DUPLICATE_UID, f"{report.uid} also in {seen[report.uid]}")
        except _Skip as exc:
            if summary is not None:
                summary.skip(exc.reason, f"{name} ({exc.detail})" if exc.detail else name)
            continue
        seen[report.uid] = name
        reports.append(report)
    if files == 0:
        raise DataError("no Open-i XML report (*.xml) found", source)
    return sorted(reports, key=lambda r: _natural_key(r.uid))


def _is_tar(path: Path) -> bool:
    try:
        return tarfile.is_tarfile(path)
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        raise DataError(f"cannot read the archive ({exc})", path) from exc


def _openi_groups(reports: Iterable[OpenIReport]) -> dict[str, str]:
    """uid -> group key: reports sharing an ``IM-NNNN`` series (likely one patient) merge."""
    parent: dict[str, str] = {}

    def find(key: str) -> str:
        root = key
        while parent.setdefault(root, root) != root:
            root = parent[root]
        while parent[key] != root:
            parent[key], key = root, parent[key]
        return root

    for report in reports:
        node = "uid:" + report.uid
        find(node)
        for image_id in report.image_ids:
            for series in _IM_SERIES.findall(image_id):
                a, b = find(node), find("im:" + series)
                if a != b:
                    parent[max(a, b)] = min(a, b)  # "im:" < "uid:": a series names the group
    return {key[4:]: find(key).split(":", 1)[1] for key in list(parent) if key.startswith("uid:")}


# --------------------------------------------------------------------------- splits


def check_fractions(fractions: Sequence[float]) -> tuple[float, float, float]:
    values = tuple(float(f) for f in fractions)
    if len(values) != 3 or not all(math.isfinite(v) and v >= 0 for v in values) or sum(values) <= 0:
        raise DataError(
            f"split fractions must be three non-negative numbers (train, val, "
            f"test) with a positive sum, not {tuple(fractions)!r}"
        )
    total = sum(values)
    return values[0] / total, values[1] / total, values[2] / total


def assign_splits(
    groups: dict[str, int], *, seed: int = 0, fractions: Sequence[float] = DEFAULT_FRACTIONS
) -> dict[str, str]:
    """Map each group (patient) to train/val/test, seeded, stratified by the group's label.

    ``groups`` maps a group key to its stratum (0/1). Within each stratum the sorted keys are
    shuffled with ``random.Random(seed)`` and cut at the cumulative fractions.
    """
    train, val, _test = check_fractions(fractions)
    rng = random.Random(seed)
    result: dict[str, str] = {}
    for stratum in sorted(set(groups.values())):
        keys = sorted((k for k, v in groups.items() if v == stratum), key=_natural_key)
        rng.shuffle(keys)
        n = len(keys)
        cut_train, cut_val = round(n * train), round(n * (train + val))
        for index, key in enumerate(keys):
            result[key] = "train" if index < cut_train else "val" if index < cut_val else "test"
    return result


def _split_rows(
    rows: list[_Row], seed: int, fractions: Sequence[float], summary: BuildSummary
) -> None:
    """Fill ``row.split``: a group with a given split keeps it, others are assigned."""
    given: dict[str, set[str]] = {}
    for row in rows:
        if row.split:
            given.setdefault(row.group, set()).add(row.split)
    spanning = sorted((g for g, s in given.items() if len(s) > 1), key=_natural_key)
    if spanning:
        summary.notes.append(
            f"{len(spanning)} patient(s) span splits in the labels file "
            f"(kept as given), e.g. {', '.join(spanning[:EXAMPLES_SHOWN])}"
        )
    strata: dict[str, int] = {}
    for row in rows:
        if row.group not in given:
            strata[row.group] = max(strata.get(row.group, 0), row.label)
    assigned = assign_splits(strata, seed=seed, fractions=fractions)
    for row in rows:
        if not row.split:
            row.split = (
                assigned[row.group]
                if row.group in assigned
                else sorted(given[row.group], key=SPLITS.index)[0]
            )


# --------------------------------------------------------------------------- output


def _check_output(out_csv: Path, inputs: Iterable[Path]) -> None:
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


def _relative(image: Path, folder: Path) -> str:
    try:
        return Path(os.path.relpath(image.absolute(), folder.absolute())).as_posix()
    except ValueError:  # another drive (Windows)
        return image.absolute().as_posix()


def _write(
    rows: list[_Row], out_csv: Path, summary: BuildSummary, kept: Sequence[str] = ()
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
                        _relative(row.image, folder),
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
    return sorted(found, key=lambda p: _natural_key(p.relative_to(folder).as_posix()))


# --------------------------------------------------------------------------- builders


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
    _check_output(out_csv, [reports_source])
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
    groups = _openi_groups(reports)
    rows: list[_Row] = []
    missing_images = 0
    for report in reports:
        try:
            label = openi_label(report.mesh_major, terms)
            if label is None:
                raise _Skip(NOT_IN_TERMS if report.mesh_major else NO_MESH)
            found = [index[i] for i in report.image_ids if i in index]
            if not found:
                raise _Skip(NO_IMAGE)
            text = report.text
            if not text and not keep_empty:
                raise _Skip(EMPTY_REPORT)
        except _Skip as exc:
            summary.skip(exc.reason, report.uid)
            continue
        missing_images += len(report.image_ids) - len(found)
        summary.reports_per_label[label] = summary.reports_per_label.get(label, 0) + 1
        rows.extend(
            _Row(
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
    _split_rows(rows, seed, fractions, summary)
    return _write(rows, out_csv, summary)


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
    _check_output(out_csv, [labels_csv])
    summary = BuildSummary(out_csv=out_csv, source=f"folder {images_dir}")
    images = _image_files(images_dir, SUPPORTED_SUFFIXES)
    by_rel = {p.relative_to(images_dir).as_posix(): p for p in images}
    by_name: dict[str, list[Path]] = {}
    for path in images:
        by_name.setdefault(path.name, []).append(path)
    labelled: dict[Path, str] = {}
    rows: list[_Row] = []
    for number, entry in enumerate(labels, start=2):
        name = entry.get("image", "").replace("\\", "/").strip()
        try:
            if not name:
                raise _Skip(LABEL_IMAGE_MISSING, f"line {number}: empty image name")
            image = by_rel.get(str(PurePosixPath(name)).removeprefix("./"))
            if image is None and "/" not in name:
                matches = by_name.get(name, [])
                if len(matches) > 1:
                    raise _Skip(AMBIGUOUS_NAME, f"{name} ({len(matches)} files)")
                image = matches[0] if matches else None
            if image is None:
                raise _Skip(LABEL_IMAGE_MISSING, name)
            if image in labelled:
                raise _Skip(DUPLICATE_LABEL, f"{name} (line {number}, first on {labelled[image]})")
            labelled[image] = f"line {number}"
            label = _LABEL_WORDS.get(entry.get("label", "").lower())
            if label is None:
                raise _Skip(BAD_LABEL, f"{name} ({entry.get('label', '')!r})")
            split = entry.get("split", "").lower() if has_split else ""
            if split and split not in SPLITS:
                raise _Skip(BAD_SPLIT, f"{name} ({entry.get('split', '')!r})")
            report_file = image.with_suffix(".txt")
            if report_file.is_file():
                try:
                    text = clean_report(read_report(report_file))
                except ReportReadError as exc:
                    raise _Skip(UNREADABLE_REPORT, f"{report_file.name} ({exc.reason})") from None
            else:
                text = ""
                summary.missing_reports += 1
        except _Skip as exc:
            summary.skip(exc.reason, exc.detail or name)
            continue
        rel = image.relative_to(images_dir).as_posix()
        patient = entry.get("patient_id", "") if has_patient else ""
        rows.append(
            _Row(
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
    _split_rows(rows, seed, fractions, summary)
    return _write(rows, out_csv, summary, kept)
