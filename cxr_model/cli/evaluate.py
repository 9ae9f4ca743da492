"""`cxr evaluate`: the metrics of the model on one split of a pairs CSV."""

from __future__ import annotations

import argparse

from cxr_model.cli.common import EXIT_NO_MODEL, add_quiet, fail
from cxr_model.errors import CXRError
from cxr_model.inference.card import CARD_NAME, record_metrics
from cxr_model.inference.router import ModelSet


def run(args: argparse.Namespace, models: ModelSet) -> int:
    try:
        model = models.only("evaluate")
    except CXRError as exc:
        return fail(exc, EXIT_NO_MODEL)
    try:
        from cxr_model.training.evaluate import evaluate
    except ImportError as exc:
        return fail(f"evaluation needs the 'train' extra ({exc})", EXIT_NO_MODEL)
    try:
        text, metrics, sections = evaluate(
            model,
            args.data,
            args.split,
            args.out,
            quiet=args.quiet,
            outside=args.outside,
            by=args.by,
            shifts=args.shifts,
        )
    except CXRError as exc:
        return fail(exc)
    print(text)
    if args.record:
        record_metrics(model.card, args.split, metrics, sections)
        print(f"recorded the {args.split} metrics in {model.card.directory / CARD_NAME}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    e = sub.add_parser("evaluate", help="metrics of the model on a split of a pairs CSV")
    e.add_argument("--data", required=True, help="CSV in the pairs.csv format")
    e.add_argument("--split", required=True)
    e.add_argument("--out", help="folder for metrics.json and plots")
    e.add_argument(
        "--record",
        action="store_true",
        help="store the figures in the model card (do this once, on test)",
    )
    e.add_argument(
        "--outside",
        metavar="CSV",
        help="pairs CSV of another population: also report how often the image "
        "guard flags its split, and the split shrunk to 64 px",
    )
    e.add_argument(
        "--by",
        metavar="COLUMN",
        help="CSV column (e.g. view): AUC with 95%% bootstrap intervals within each of its "
        "values, and the AUC of a predictor that knows only the column",
    )
    e.add_argument(
        "--shifts",
        action="store_true",
        help="also score the split re-rendered under each site shift (gamma 0.7/1.4, "
        "contrast -30%%/+30%%, histogram-equalised, 500 px JPEG q75)",
    )
    add_quiet(e)
    e.set_defaults(handler=run, needs_model=True)
