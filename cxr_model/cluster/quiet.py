"""Ray's own log lines off the terminal while `cxr scan --engine ray` runs.

Ray's C++ core writes its warnings (`core_worker.cc`, `gcs_client.cc`) straight to file
descriptor 2, past Python's logging. For the length of the block fd 2 goes to /dev/null and
`sys.stderr` to a copy of the real stderr, so `cxr`'s own messages and progress bar still
show; failures reach the user as `cxr:` lines. `cxr scan --verbose` leaves fd 2 alone.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
from collections.abc import Iterator


def _on_fd2(stream: object) -> bool:
    try:
        return stream.fileno() == 2  # type: ignore[attr-defined]
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is both
        return False


@contextlib.contextmanager
def ray_output_off() -> Iterator[None]:
    """fd 2 to /dev/null, `sys.stderr` (when it wrote to fd 2) to the real stderr."""
    original = sys.stderr
    original.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)
    terminal = None
    if _on_fd2(original):
        terminal = io.TextIOWrapper(
            io.FileIO(os.dup(saved), "w"),
            encoding=original.encoding,
            errors=original.errors,
            line_buffering=True,
        )
        sys.stderr = terminal
    try:
        yield
    finally:
        if terminal is not None:
            sys.stderr = original
            terminal.close()
        os.dup2(saved, 2)
        os.close(saved)
