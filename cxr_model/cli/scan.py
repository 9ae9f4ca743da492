"""`cxr scan`: score every image of a folder into a CSV, row by row, resumable."""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

from cxr_model.cli.common import add_quiet, fail
from cxr_model.errors import CXRError
from cxr_model.inference.predictor import Model
from cxr_model.inference.scan import (
    RESULT_FIELDS,
    CsvSink,
    csv_values,
    plan_scan,
    scan,
    scored_files,
)
from cxr_model.progress import progress


def run(args: argparse.Namespace, model: Model) -> int:
    folder = Path(args.folder)
    out = Path(args.out) if args.out else None
    counts = {"scored": 0, "errors": 0}
    sink = None
    try:
        skip = scored_files(out) if out else set()
        sink = CsvSink(out) if out else None
        stdout = None if sink else csv.writer(sys.stdout)
        if stdout:
            stdout.writerow(RESULT_FIELDS)
        plan = plan_scan(folder, args.recursive, skip)
        rows = scan(model, plan)
        total = len(plan.files) + len(plan.unreadable)
        for row in progress(rows, total=total, desc="scan", quiet=args.quiet):
            counts["errors" if row["error"] else "scored"] += 1
            if sink:
                sink.add(row)
            else:
                stdout.writerow(csv_values(row))
                sys.stdout.flush()
            if row["error"]:
                print(f"cxr: {row['error']}", file=sys.stderr)
    except CXRError as exc:
        return fail(exc)
    finally:
        if sink:
            sink.close()
    summary = f"scanned {counts['scored']} image(s), {counts['errors']} error(s)"
    print(f"{summary}, {len(skip)} already in {out}" if out else summary, file=sys.stderr)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    s = sub.add_parser("scan", help="score every image of a folder")
    s.add_argument("folder")
    s.add_argument("--out", metavar="FILE.csv", help="append rows here (default: stdout)")
    s.add_argument("--recursive", action="store_true")
    add_quiet(s)
    s.set_defaults(handler=run, needs_model=True)
