"""`cxr worklist DIR`: the studies a listener received into DIR, in triage order (abnormal by
descending probability, then uncertain, normal, no label), with the verdict given on each."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path

from cxr_model.cli.common import fail
from cxr_model.errors import CXRError
from cxr_model.feedback.store import Verdict, default_db_path, verdicts_by_study
from cxr_model.worklist.store import WorklistRow, read_worklist

COLUMNS = ("received", "patient", "age/sex", "accession", "view", "model", "P(abn)", "label")


def cells(row: WorklistRow, verdict: Verdict | None) -> list[str]:
    """The printed cells of a row, COLUMNS then the verdict."""
    probability = "" if row.probability is None else f"{row.probability:.3f}"
    return [
        row.received.replace("T", " ")[:19],
        row.patient,
        row.age_sex,
        row.accession,
        row.view,
        row.model,
        probability,
        row.label_text,
        verdict.summary if verdict else "",
    ]


def run(args: argparse.Namespace) -> int:
    folder = Path(args.folder)
    try:
        rows = read_worklist(folder)
        verdicts = verdicts_by_study(Path(args.db) if args.db else default_db_path())
    except CXRError as exc:
        return fail(exc)
    if args.json:
        items = [
            {
                **asdict(row),
                "path": str(folder / row.image),
                "verdict": asdict(verdicts[row.study_uid]) if row.study_uid in verdicts else None,
            }
            for row in rows
        ]
        print(json.dumps(items, indent=2))
        return 0
    table = [[*COLUMNS, "verdict"]] + [cells(r, verdicts.get(r.study_uid)) for r in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(table[0]))]
    for line in table:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        )
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("worklist", help="the studies a `cxr listen` folder received, for triage")
    p.add_argument("folder", metavar="DIR", help="the --out folder of `cxr listen`")
    p.add_argument("--json", action="store_true", help="JSON instead of a table")
    p.add_argument(
        "--db",
        metavar="FILE",
        help="verdicts database (default: $CXR_FEEDBACK_DB, else the user's data folder)",
    )
    p.set_defaults(handler=run, needs_model=False)
