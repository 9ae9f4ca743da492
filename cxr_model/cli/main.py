"""`cxr`: predict, scan, evaluate, train and work with a PACS from the command line.

Exit status: 0 success, 2 bad input (reason on stderr), 3 no usable model, 4 network failure;
`quantize` exits 1 when the int8 model it made failed a gate.
"""

from __future__ import annotations

import argparse
import sys

from cxr_model import NOT_A_DEVICE
from cxr_model.assembly import use_backend
from cxr_model.cli import (
    dataset,
    evaluate,
    feedback,
    listen,
    models,
    pacs,
    predict,
    quantize,
    refit,
    results,
    scan,
    train,
    worklist,
)
from cxr_model.cli.common import EXIT_NO_MODEL, fail
from cxr_model.errors import ModelError
from cxr_model.inference.router import load_models
from cxr_model.inference.selftest import run_selftest
from cxr_model.vocabulary import BackendName, Precision, choices

COMMANDS = (
    predict,
    scan,
    evaluate,
    models,
    train,
    refit,
    quantize,
    dataset,
    pacs,
    results,
    listen,
    worklist,
    feedback,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cxr", description=__doc__.splitlines()[0] + " " + NOT_A_DEVICE
    )
    parser.add_argument(
        "--model",
        help="one model folder, forced for every image (default: the installed models, "
        "chosen per image by age or population detector)",
    )
    parser.add_argument("--backend", choices=choices(BackendName), default=BackendName.ONNX)
    parser.add_argument(
        "--precision",
        choices=choices(Precision),
        default=Precision.AUTO,
        help="auto: int8 when the model card's int8 gates passed, else fp32",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.register(sub)
    selftest = sub.add_parser("selftest", help="check the installation (model, checksums, samples)")
    selftest.set_defaults(
        handler=lambda args: run_selftest(args.model, args.precision), needs_model=False
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if not args.needs_model:
        return args.handler(args)
    try:
        use_backend(args.backend)
        model_set = load_models(args.model, backend=args.backend, precision=args.precision)
    except ModelError as exc:
        return fail(exc, EXIT_NO_MODEL)
    for unusable in model_set.unusable:
        print(
            f"cxr: warning: model {unusable.directory.name} is unusable: {unusable.reason}",
            file=sys.stderr,
        )
    for warning in model_set.precision_warnings:
        print(f"cxr: warning: running int8 although {warning}", file=sys.stderr)
    return args.handler(args, model_set)


if __name__ == "__main__":
    sys.exit(main())
