"""What every `cxr` command shares: exit codes, error printing, the --quiet flag."""

from __future__ import annotations

import argparse
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
