"""`cxr feedback export`: the current verdicts as a pairs CSV that `cxr train --init` reads
as it is (image, report, label, split), copying no image.

The split is by patient and stable: each patient's key is hashed to train / val / test, so a
patient never spans splits and stays in its split as verdicts accumulate. Images that no
longer exist are listed and left out; not-gradable verdicts are counted and left out.
"""

from __future__ import annotations

import csv
import hashlib
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from cxr_model.errors import DataError
from cxr_model.feedback.store import Verdict
from cxr_model.training.dataset import REQUIRED_COLUMNS
from cxr_model.vocabulary import Truth

#: Cumulative fractions of patients in train, then val (the rest is test).
SPLIT_CUTS = ((0.7, "train"), (0.85, "val"), (1.0, "test"))


def patient_split(patient_key: str) -> str:
    """train / val / test for a patient, from a hash of its key (the same on every export)."""
    value = int(hashlib.sha256(f"split:{patient_key}".encode()).hexdigest()[:12], 16) / 16**12
    return next(name for cut, name in SPLIT_CUTS if value < cut)


@dataclass
class ExportSummary:
    """What an export wrote and what it left out (and why)."""

    out: Path
    per_split: dict[str, int] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    ungradable: int = 0

    @property
    def written(self) -> int:
        return sum(self.per_split.values())

    def lines(self) -> list[str]:
        """A human summary, one fact a line."""
        splits = ", ".join(f"{n} {s}" for s, n in self.per_split.items()) or "none"
        lines = [f"{self.written} verdict(s) written to {self.out} ({splits})"]
        if self.ungradable:
            lines.append(f"{self.ungradable} not-gradable verdict(s) left out")
        if self.missing:
            lines.append(f"{len(self.missing)} image(s) no longer exist, left out:")
            lines += [f"  {path}" for path in self.missing]
        if self.written and not (self.per_split.get("train") and self.per_split.get("val")):
            lines.append("warning: `cxr train` needs a train and a val split: too few patients")
        return lines


def export_pairs(verdicts: list[Verdict], out: Path) -> ExportSummary:
    """Write `verdicts` (the current ones) as a pairs CSV at `out` (atomically)."""
    out = Path(out)
    if out.is_dir():
        raise DataError("is a folder; give the path of the CSV file to write", out)
    summary = ExportSummary(out)
    rows = []
    for verdict in verdicts:
        if verdict.truth == Truth.UNGRADABLE:
            summary.ungradable += 1
            continue
        if not Path(verdict.image).is_file():
            summary.missing.append(verdict.image)
            continue
        split = patient_split(verdict.patient_key)
        summary.per_split[split] = summary.per_split.get(split, 0) + 1
        label = "1" if verdict.truth == Truth.ABNORMAL else "0"
        rows.append((verdict.image, verdict.report, label, split))
    summary.per_split = {s: summary.per_split[s] for _, s in SPLIT_CUTS if s in summary.per_split}
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".partial-", suffix=".csv", dir=out.parent)
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(REQUIRED_COLUMNS)
            writer.writerows(rows)
        os.replace(tmp, out)
    except OSError as exc:
        raise DataError(f"cannot write the CSV ({exc.strerror or exc})", out) from exc
    return summary
