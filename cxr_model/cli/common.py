"""What every `cxr` command shares: exit codes, error printing, the --quiet flag."""

from __future__ import annotations

import argparse
import json
import sys

from cxr_model.errors import CXRError

EXIT_BAD_INPUT = 2
EXIT_NO_MODEL = 3
EXIT_NETWORK = 4


def fail(exc: CXRError | str, code: int = EXIT_BAD_INPUT) -> int:
    """Print `cxr: <reason>` on stderr and return the exit code."""
    print(f"cxr: {exc}", file=sys.stderr)
    return code


def add_quiet(parser: argparse.ArgumentParser) -> None:
    """`--quiet`: no progress bar (it is off anyway when stderr is not a terminal)."""
    parser.add_argument("--quiet", action="store_true", help="no progress bar on stderr")


def population_file(path: str) -> dict:
    """argparse type of `--population`: a JSON object describing the training population
    (summary, sites, views, labels, never_saw, ...) for the card's `population` section."""
    try:
        with open(path, encoding="utf-8") as fh:
            value = json.load(fh)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise argparse.ArgumentTypeError(f"cannot read the population file {path}: {exc}") from exc
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"{path}: the population must be a JSON object")
    return value


def add_population(parser: argparse.ArgumentParser) -> None:
    """`--population FILE` and `--name` for commands that write a model card."""
    parser.add_argument(
        "--population",
        type=population_file,
        metavar="JSON",
        help="JSON object merged into the card's population section (who the model was "
        "trained on, what it never saw)",
    )
    parser.add_argument("--name", help="model name for the card")
