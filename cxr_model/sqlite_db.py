"""The SQLite databases of the product (worklist, verdicts): WAL mode so readers never wait
for the writer, a busy timeout so writers from several processes queue instead of failing,
files 0600 (they name patients), and every SQLite failure as a clear StoreError."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cxr_model.errors import StoreError
from cxr_model.files import private_file, private_folder

#: Seconds a writer waits for another process's write to finish before giving up.
BUSY_SECONDS = 15.0


def _reason(exc: sqlite3.Error) -> str:
    text = str(exc)
    if "locked" in text or "busy" in text:
        return f"the database is locked by another program for more than {BUSY_SECONDS:g} s"
    if "not a database" in text or "malformed" in text or "corrupt" in text:
        return "the database is damaged (not a readable SQLite file); move it aside to start anew"
    return f"database error ({text})"


@contextmanager
def guarded(path: Path) -> Iterator[None]:
    """Turn SQLite and file errors inside the block into StoreError naming `path`."""
    try:
        yield
    except sqlite3.Error as exc:
        raise StoreError(_reason(exc), path) from exc
    except OSError as exc:
        raise StoreError(f"cannot open the database ({exc.strerror or exc})", path) from exc


def connect(path: Path, schema: str, create: bool = True) -> sqlite3.Connection:
    """Open (with `create`, make) the database at `path` with `schema` applied; a missing file
    without `create` is a StoreError. Rows come back as sqlite3.Row."""
    path = Path(path)
    with guarded(path):
        if create:
            private_file(private_folder(path.parent) / path.name)
        elif not path.is_file():
            raise StoreError("no such database", path)
        db = sqlite3.connect(
            path.resolve().as_uri() + "?mode=rw",
            uri=True,
            timeout=BUSY_SECONDS,
            isolation_level=None,  # transactions are explicit: `writing`
            check_same_thread=False,  # made on one thread, used by one other (the listener)
        )
        try:
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.executescript(schema)
        except BaseException:
            db.close()
            raise
    return db


@contextmanager
def writing(db: sqlite3.Connection, path: Path) -> Iterator[sqlite3.Connection]:
    """One write transaction, taken at once (BEGIN IMMEDIATE) so concurrent writers queue."""
    with guarded(path):
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")


def now() -> str:
    """Local time with its offset, to the second: how the stores write times."""
    return dt.datetime.now().astimezone().isoformat(timespec="seconds")
