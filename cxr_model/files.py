"""A user's files, safely: path checks, opening, the one error boundary of the readers, and
private folders and files for what holds patient data.

Every reader (images, reports) runs inside `read_guarded`, which turns any failure into the
reader's own `CXRError` subtype naming the file, with a reason a person understands.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, TypeVar

from cxr_model.errors import CXRError, RefusedError

T = TypeVar("T")

# Never swallowed at the boundary: the user or the interpreter wants out.
FATAL = (KeyboardInterrupt, SystemExit, GeneratorExit)

_OS_REASONS = (
    (FileNotFoundError, "no such file"),
    (PermissionError, "permission denied"),
    (NotADirectoryError, "no such file (a parent is not a folder)"),
    (IsADirectoryError, "is a directory"),
)


def fspath(path: Any) -> str:
    """`path` (str, bytes or os.PathLike) as a str; TypeError for anything else."""
    if isinstance(path, bytes):
        return os.fsdecode(path)
    if isinstance(path, str | os.PathLike):
        return os.fspath(path)
    raise TypeError(type(path).__name__)


def describe(exc: BaseException) -> str:
    """`Type: message` of an exception, on one line, at most 200 characters."""
    text = " ".join(str(exc).split())
    if len(text) > 200:
        text = text[:197] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def os_reason(exc: OSError, action: str) -> str:
    """A person's words for an OSError met while trying to `action` a file."""
    for kind, reason in _OS_REASONS:
        if isinstance(exc, kind):
            return reason
    return f"cannot {action} file ({describe(exc)})"


def stat_regular(path: str) -> os.stat_result:
    """Stat `path` and refuse anything that is not a readable regular file."""
    try:
        st = os.stat(path)
    except OSError as exc:
        raise RefusedError(os_reason(exc, "access")) from None
    if stat.S_ISDIR(st.st_mode):
        raise RefusedError("is a directory")
    if not stat.S_ISREG(st.st_mode):
        raise RefusedError("not a regular file")
    return st


def open_binary(path: str) -> IO[bytes]:
    """Open `path` for reading bytes (the caller closes it); RefusedError with the reason."""
    try:
        return open(path, "rb")
    except OSError as exc:
        raise RefusedError(os_reason(exc, "open")) from None


def read_guarded(
    source: str,
    read: Callable[[], T],
    error: type[CXRError],
    action: str,
    corrupt: str,
    limits: Callable[[BaseException], str | None] = lambda exc: None,
) -> T:
    """Run `read`; every failure becomes `error` naming `source`, and nothing else escapes.

    `action` says what ran out of memory ("decode the image"), `corrupt` words any other
    failure ("file is truncated or corrupt"); `limits` may word the reader's own size-limit
    exceptions (None: not one of them).
    """
    try:
        return read()
    except error:
        raise
    except RefusedError as exc:
        raise error(exc.reason, file=source) from None
    except MemoryError:
        raise error(f"not enough memory to {action}", file=source) from None
    except RecursionError:
        raise error(f"{corrupt} (structure nested too deeply)", file=source) from None
    except BaseException as exc:  # any decoder failure: OSError, SyntaxError, struct.error, ...
        # BaseException: Rust-based decoders (pylibjpeg-rle) raise pyo3 PanicException,
        # which derives from BaseException, on malformed input.
        if isinstance(exc, FATAL):
            raise
        reason = limits(exc)
        if reason is not None:
            raise error(reason, file=source) from None
        raise error(f"{corrupt} ({describe(exc)})", file=source) from exc


def private_folder(path: Path) -> Path:
    """Create `path` and its missing parents with mode 0700 (they hold patient data)."""
    missing = []
    for folder in (path, *path.parents):
        if folder.is_dir():
            break
        missing.append(folder)
    for folder in reversed(missing):
        folder.mkdir(mode=0o700, exist_ok=True)
    return path


def private_file(path: Path) -> Path:
    """Create `path` empty with mode 0600 unless it exists."""
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600))
    return path
