"""`cxr quantize`: the static int8 model of a model folder, with its accuracy gates
(needs the `train` extra: onnx, onnxruntime.quantization, scikit-image)."""

from __future__ import annotations

import argparse
from pathlib import Path

from cxr_model.cli.common import EXIT_NO_MODEL, add_quiet, fail
from cxr_model.errors import CXRError, ModelError
from cxr_model.inference.card import default_model_dir, load_card


def default_data(model_dir: Path) -> str | None:
    """The pairs CSV the model was trained on, as its card records it (None if unknown)."""
    try:
        return load_card(model_dir).data.get("training", {}).get("data")
    except ModelError:
        return None


def run(args: argparse.Namespace) -> int:
    try:
        from cxr_model.training.quantize import quantize_folder, summary
    except ImportError as exc:
        return fail(f"quantisation needs the 'train' extra ({exc})", EXIT_NO_MODEL)
    try:
        model_dir = Path(args.model) if args.model else default_model_dir()
    except ModelError as exc:  # several models installed: which one?
        return fail(exc, EXIT_NO_MODEL)
    data = args.data or default_data(model_dir)
    if data is None:
        return fail("the model card names no training data; give --data pairs.csv")
    try:
        section = quantize_folder(
            model_dir, data, images=args.images, seed=args.seed, quiet=args.quiet
        )
    except ModelError as exc:
        return fail(exc, EXIT_NO_MODEL)
    except CXRError as exc:
        return fail(exc)
    print(summary(section, model_dir))
    return 0 if section["gates"]["passed"] else 1


def register(sub: argparse._SubParsersAction) -> None:
    q = sub.add_parser(
        "quantize",
        help="make the int8 model of a model folder and check its "
        "accuracy gates (needs the train extra)",
    )
    q.add_argument(
        "--data",
        help="pairs CSV: train images calibrate, val/test measure the "
        "gates (default: the training data named in the model card)",
    )
    q.add_argument("--images", type=int, default=256, help="train images to calibrate on")
    q.add_argument("--seed", type=int, default=0, help="seed of the calibration subset")
    add_quiet(q)
    q.set_defaults(handler=run, needs_model=False)
