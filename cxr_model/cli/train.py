"""`cxr train`: train a model folder from a pairs CSV (needs the `train` extra)."""

from __future__ import annotations

import argparse

from cxr_model.cli.common import EXIT_NO_MODEL, add_population, add_quiet, fail
from cxr_model.errors import CXRError, ModelError
from cxr_model.imaging.preprocess import INTENSITIES

#: Peak learning rate when fine-tuning an existing model (`--init`) unless --lr says otherwise.
FINE_TUNE_LR = 3e-4


def age_range(value: str) -> tuple[float, float]:
    """`A-B` years -> (A, B + 1): ages A to B inclusive, whole years."""
    try:
        low, high = (float(v) for v in value.split("-"))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"expected an age range such as 18-100, not {value!r}"
        ) from exc
    if not 0 <= low <= high:
        raise argparse.ArgumentTypeError(f"the age range {value!r} is empty")
    return low, high + 1


def run(args: argparse.Namespace) -> int:
    try:
        from cxr_model.training.train import TrainConfig, train
    except ImportError as exc:
        return fail(f"training needs the 'train' extra ({exc})", EXIT_NO_MODEL)
    lr = args.lr if args.lr is not None else (FINE_TUNE_LR if args.init else TrainConfig.lr)
    cfg = TrainConfig(
        data=args.data,
        out=args.out,
        size=args.size,
        epochs=args.epochs,
        batch_size=args.batch_size,
        seed=args.seed,
        limit=args.limit,
        text_epochs=args.text_epochs,
        lr=lr,
        init=args.init,
        outside=args.outside,
        age_range=args.age_range,
        quiet=args.quiet,
        site_shift=not args.no_site_shift,
        balance=args.balance,
        intensity=args.intensity,
        population=args.population,
        name=args.name,
    )
    try:
        model_dir = train(cfg, resume=args.resume)
    except ModelError as exc:
        return fail(exc, EXIT_NO_MODEL)
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
    t.add_argument(
        "--size", type=int, help="input side in pixels (default: the --init model's, else 224)"
    )
    t.add_argument("--batch-size", type=int, default=64)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--limit", type=int, help="first N examples per split (smoke test)")
    t.add_argument("--resume", action="store_true")
    t.add_argument(
        "--lr",
        type=float,
        help=f"peak learning rate (default: the training default, {FINE_TUNE_LR:g} with --init)",
    )
    t.add_argument(
        "--init",
        metavar="MODEL_DIR",
        help="fine-tune this model folder on --data (site adaptation); the card "
        "records it as the parent",
    )
    t.add_argument(
        "--outside",
        metavar="CSV",
        help="pairs CSV of another population: fits the population detector",
    )
    t.add_argument(
        "--age-range",
        type=age_range,
        metavar="A-B",
        help="ages in years of the training patients (the age guard)",
    )
    t.add_argument(
        "--no-site-shift",
        action="store_true",
        help="train without the site-shift augmentation (gamma, contrast, equalisation, "
        "resolution, blur, noise, JPEG, borders)",
    )
    t.add_argument(
        "--balance",
        metavar="COLUMN",
        help="draw training examples so that every value of this CSV column (e.g. view) "
        "and label is seen equally often",
    )
    t.add_argument(
        "--intensity",
        choices=INTENSITIES,
        help="per-image grey-level mapping of the input, recorded in the card and applied at "
        "inference: window (as displayed), equalise (flat histogram) or match (onto the "
        "training images' mean histogram) (default: the --init model's, else window)",
    )
    add_population(t)
    add_quiet(t)
    t.set_defaults(handler=run, needs_model=False)
