"""`cxr refit`: refit calibration, thresholds and guards of a model folder on val, without
training; with `--outside` it adds the population detector (needs the `train` extra)."""

from __future__ import annotations

import argparse
from pathlib import Path

from cxr_model.cli.common import EXIT_NO_MODEL, add_population, fail
from cxr_model.errors import CXRError, ModelError
from cxr_model.inference.card import default_model_dir, load_card
from cxr_model.text.tokenizer import tokenizer_from_json

REFIT_PROCEDURE = (
    "weights unchanged; calibration (bounded Platt), thresholds, uncertainty "
    "margins, the Mahalanobis limit and, with an outside population, the "
    "population detector refitted on val by `cxr refit`"
)


def run(args: argparse.Namespace) -> int:
    try:
        from cxr_model.training.refit import refit
        from cxr_model.training.torch_backend import load_network
        from cxr_model.training.train import lineage
    except ImportError as exc:
        return fail(f"refitting needs the 'train' extra ({exc})", EXIT_NO_MODEL)
    try:
        source = Path(args.model) if args.model else default_model_dir()
    except ModelError as exc:  # several models installed: which one?
        return fail(exc, EXIT_NO_MODEL)
    out = Path(args.out)
    if out.resolve() == source.resolve():
        return fail("--out must be a new folder, not the model being refitted")
    try:
        card = load_card(source)
        net = load_network(card)
        base = {
            **card.data,
            "refitted_from": lineage(card),
            "refit": {
                "data": str(args.data),
                "outside": args.outside,
                "procedure": REFIT_PROCEDURE,
            },
        }
        if args.name:
            base["name"] = args.name
        if args.population:
            base["population"] = {**base.get("population", {}), **args.population}
        model_dir = refit(
            net,
            tokenizer_from_json(card.data["tokenizer"]),
            card.input_spec,
            args.data,
            out,
            base=base,
            max_len=card.max_len,
            outside=args.outside,
            seed=args.seed,
        )
    except ModelError as exc:
        return fail(exc, EXIT_NO_MODEL)
    except CXRError as exc:
        return fail(exc)
    print(
        f"model written to {model_dir}; measure it on test with `cxr --model {model_dir} "
        f"evaluate --split test --record`"
    )
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    r = sub.add_parser(
        "refit",
        help="refit calibration, thresholds and guards on val "
        "(weights unchanged; needs the train extra)",
    )
    r.add_argument("--data", required=True, help="pairs CSV whose train/val splits are used")
    r.add_argument(
        "--outside",
        help="pairs CSV of another population (its train split fits "
        "the population detector, its val split is reported)",
    )
    r.add_argument("--out", required=True, help="new model folder to write")
    add_population(r)
    r.add_argument("--seed", type=int, default=0)
    r.set_defaults(handler=run, needs_model=False)
