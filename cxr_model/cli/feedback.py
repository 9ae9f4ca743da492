"""`cxr feedback`: the radiologist's verdicts on the AI's results (add, list, export as a
training CSV, agreement figures). The database is `--db FILE`, else $CXR_FEEDBACK_DB, else
verdicts.sqlite in the user's data folder."""

from __future__ import annotations

import argparse
import datetime as dt
import json
from dataclasses import asdict
from pathlib import Path

from cxr_model.cli.common import fail
from cxr_model.cli.predict import report_argument
from cxr_model.errors import CXRError
from cxr_model.feedback.export import export_pairs
from cxr_model.feedback.stats import model_stats, stats_lines
from cxr_model.feedback.store import FeedbackStore, make_verdict
from cxr_model.inference.router import ModelSet
from cxr_model.vocabulary import Truth, choices


def since_date(text: str) -> str:
    """--since: an ISO date or date and time (ValueError -> argparse's message)."""
    dt.datetime.fromisoformat(text)
    return text


def _store(args: argparse.Namespace) -> FeedbackStore:
    return FeedbackStore(Path(args.db) if args.db else None)


def run_add(args: argparse.Namespace, model: ModelSet) -> int:
    image_path = Path(args.image)
    try:
        report = report_argument(args.report, image_path)
        image = model.read(image_path)
        prediction = model.predict(image, report)
        verdict = make_verdict(
            image_path, args.label, image.meta, model.card_for(prediction), prediction, report or ""
        )
        store = _store(args)
        try:
            store.add(verdict)
        finally:
            store.close()
    except CXRError as exc:
        return fail(exc)
    agrees = verdict.ai_agrees
    said = "no AI label" if agrees is None else "agrees" if agrees else "disagrees"
    print(
        f"{image_path}: {verdict.truth} (AI {prediction.probability:.3f} {prediction.reading}, "
        f"{said}) kept in {store.path}"
    )
    return 0


def _with_store(args: argparse.Namespace, action) -> int:
    try:
        store = _store(args)
        try:
            return action(store)
        finally:
            store.close()
    except CXRError as exc:
        return fail(exc)


def run_list(args: argparse.Namespace) -> int:
    def action(store: FeedbackStore) -> int:
        verdicts = store.history() if args.history else store.current(args.since or "")
        if args.json:
            print(json.dumps([asdict(v) for v in verdicts], indent=2))
            return 0
        for v in verdicts:
            ai = "" if v.ai_probability is None else f"{v.ai_probability:.3f} {v.ai_reading}"
            print(f"{v.at}  {v.who}  {v.truth:<10}  AI {ai:<16}  {v.model_version}  {v.image}")
        return 0

    return _with_store(args, action)


def run_export(args: argparse.Namespace) -> int:
    def action(store: FeedbackStore) -> int:
        summary = export_pairs(store.current(args.since or ""), Path(args.out))
        for line in summary.lines():
            print(line)
        return 0

    return _with_store(args, action)


def run_stats(args: argparse.Namespace) -> int:
    def action(store: FeedbackStore) -> int:
        stats = model_stats(store.current(args.since or ""))
        if args.json:
            print(json.dumps([s.to_dict() for s in stats], indent=2))
        elif not stats:
            print(f"no verdicts in {store.path}")
        for s in [] if args.json else stats:
            print("\n".join(stats_lines(s)))
        return 0

    return _with_store(args, action)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("feedback", help="the radiologist's verdicts: add, list, export, stats")
    verbs = p.add_subparsers(dest="verb", required=True)

    def verb(name: str, help_text: str, handler, needs_model: bool = False):
        v = verbs.add_parser(name, help=help_text)
        v.add_argument(
            "--db",
            metavar="FILE",
            help="verdicts database (default: $CXR_FEEDBACK_DB, else "
            "verdicts.sqlite in the user's data folder)",
        )
        v.set_defaults(handler=handler, needs_model=needs_model)
        return v

    add = verb("add", "keep a verdict on an image (the AI scores it for the record)", run_add, True)
    add.add_argument("image", metavar="IMAGE")
    add.add_argument("--label", required=True, choices=choices(Truth), help="the ground truth")
    add.add_argument(
        "--report",
        metavar="FILE_OR_TEXT",
        help="the radiologist's report (default: IMAGE's .txt if present)",
    )
    listing = verb("list", "the current verdicts (--history: every change too)", run_list)
    listing.add_argument("--history", action="store_true")
    listing.add_argument("--json", action="store_true")
    export = verb("export", "write the verdicts as a pairs CSV for `cxr train --init`", run_export)
    export.add_argument("--out", required=True, metavar="CSV")
    stats = verb("stats", "agreement, sensitivity and specificity of the AI per model", run_stats)
    stats.add_argument("--json", action="store_true")
    for command in (listing, export, stats):
        command.add_argument(
            "--since", type=since_date, metavar="DATE", help="only verdicts given from DATE on"
        )
