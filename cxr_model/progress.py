"""Progress bars for long work on the command line (tqdm on stderr, only on a terminal)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")

#: Bar width on a terminal that reports no size (0 columns: some consoles, `script`
#: without one), where tqdm's own sizing would print nothing.
FALLBACK_COLUMNS = 80


def _columns() -> int:
    """The width stderr's terminal reports (0 when it reports none)."""
    try:
        return os.get_terminal_size(sys.stderr.fileno()).columns
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is both
        return 0


def progress(
    items: Iterable[T], *, total: int | None, desc: str, unit: str = "img", quiet: bool = False
) -> Iterator[T]:
    """Iterate `items` with a tqdm bar (rate, ETA) on stderr when it is a terminal.

    Off with `quiet` or when stderr is redirected, so logs and CSV output stay clean. The
    bar follows the terminal's width, or is FALLBACK_COLUMNS wide when it reports none.
    """
    if quiet or not sys.stderr.isatty():
        yield from items
        return
    from tqdm import tqdm

    sized = _columns() > 0
    with tqdm(
        items,
        total=total,
        desc=desc,
        unit=unit,
        file=sys.stderr,
        dynamic_ncols=sized,
        ncols=None if sized else FALLBACK_COLUMNS,
        leave=True,
    ) as bar:
        yield from bar
