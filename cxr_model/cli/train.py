"""`cxr train`: train a model folder from a pairs CSV (needs the `train` extra)."""

from __future__ import annotations

import argparse

from cxr_model.cli.common import EXIT_NO_MODEL, add_quiet, fail
from cxr_model.errors import CXRError


def run(args: argparse.Namespace) -> int:
    try:
        from cxr_model.training.train import TrainConfig, train
    except ImportError as exc:
        return fail(f"training needs the 'train' extra ({exc})", EXIT_NO_MODEL)
    cfg = TrainConfig(data=args.data, out=args.out, size=args.size, epochs=args.epochs,
                      batch_size=args.batch_size, seed=args.seed, limit=args.limit,
                      text_epochs=args.text_epochs, quiet=args.quiet)
    try:
        model_dir = train(cfg, resume=args.resume)
    except CXRError as exc:
        return fail(exc)
    print(f"model written to {model_dir}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    t = sub.add_parser("train", help="train a model from a pairs CSV (needs the train extra)")
    t.add_argument("--data", required=True)
    t.add_argument("--out", required=True, help="run folder (checkpoints, model/)")
    t.add_argument("--epochs", type=int, default=10)
    t.add_argument("--text-epochs", type=int, default=40)
    t.add_argument("--size", type=int, default=224)
    t.add_argument("--batch-size", type=int, default=64)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--limit", type=int, help="first N examples per split (smoke test)")
    t.add_argument("--resume", action="store_true")
    add_quiet(t)
    t.set_defaults(handler=run, needs_model=False)
