"""What a data set build writes and leaves out: output columns, skip reasons, the summary."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

OUTPUT_COLUMNS = ("image", "report", "label", "split", "patient_id", "report_uid", "report_mesh")
SPLITS = ("train", "val", "test")
DEFAULT_FRACTIONS: tuple[float, float, float] = (0.7, 0.15, 0.15)
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
class Row:
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


def natural_key(text: str) -> list[object]:
    """Sort key that orders digit runs by number ("r2" before "r10")."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text)]
