"""Progress bars for long work on the command line (tqdm on stderr, only on a terminal)."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")


def progress(
    items: Iterable[T], *, total: int | None, desc: str, unit: str = "img", quiet: bool = False
) -> Iterator[T]:
    """Iterate `items` with a tqdm bar (rate, ETA) on stderr when it is a terminal.

    Off with `quiet` or when stderr is redirected, so logs and CSV output stay clean.
    """
    if quiet or not sys.stderr.isatty():
        yield from items
        return
    from tqdm import tqdm

    with tqdm(
        items, total=total, desc=desc, unit=unit, file=sys.stderr, dynamic_ncols=True, leave=True
    ) as bar:
        yield from bar
