"""Scan rows into parquet: a folder `FILE.parquet/` of parts, resumable like the CSV.

A parquet file is readable only once its footer is written, so one file cannot take rows as
they finish. The sink writes a part (`part-<run>-<n>.parquet`) every `flush_rows` rows or
`flush_seconds`, whichever comes first, and on close; each part appears atomically (written
under a hidden name, then renamed), so a killed scan leaves only whole parts and loses at
most the rows it had not flushed, which a rerun scores again. pyarrow, pandas, DuckDB, Spark
and Ray read the folder as one table.
"""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from pathlib import Path

import pyarrow.parquet as pq

from cxr_model.cluster.schema import RESULT_SCHEMA, rows_table
from cxr_model.errors import DataError

_NOT_OURS = "exists but is not a scan parquet folder of this version; choose another name"


def _parts(path: Path) -> list[Path]:
    """The parquet files of a scan folder (hidden files are unfinished parts)."""
    return sorted(p for p in path.glob("*.parquet") if not p.name.startswith((".", "_")))


def scored_parquet(path: str | Path) -> set[str]:
    """Files that an earlier scan into this parquet folder scored without error."""
    path = Path(path)
    if not path.exists():
        return set()
    if not path.is_dir():
        raise DataError(_NOT_OURS, path)
    scored: set[str] = set()
    try:
        for part in _parts(path):
            if not pq.read_schema(part).equals(RESULT_SCHEMA):
                raise DataError(_NOT_OURS + f" ({part.name} has other columns)", path)
            table = pq.read_table(part, columns=["file", "error"])
            scored.update(
                f
                for f, e in zip(
                    table.column("file").to_pylist(), table.column("error").to_pylist(), strict=True
                )
                if e is None
            )
    except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
        raise DataError(f"cannot read the existing parquet folder ({exc})", path) from exc
    return scored


class ParquetSink:
    """Collects rows and writes them as parquet parts into the folder `path`."""

    def __init__(
        self, path: str | Path, flush_rows: int = 10_000, flush_seconds: float = 10.0
    ) -> None:
        self.path = Path(path)
        self.flush_rows = flush_rows
        self.flush_seconds = flush_seconds
        if self.path.exists() and not self.path.is_dir():
            raise DataError(_NOT_OURS, self.path)
        try:
            self.path.mkdir(exist_ok=True)
            for stale in self.path.glob(".part-*.tmp"):  # left by a killed scan
                stale.unlink()
        except OSError as exc:
            raise DataError(
                f"cannot write the parquet folder ({exc.strerror or exc})", self.path
            ) from exc
        self._run = f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}"
        self._count = 0
        self._rows: list[dict] = []
        self._flushed = time.monotonic()

    def add(self, row: dict) -> None:
        """Keep one row; write a part when enough rows or time have gathered."""
        self._rows.append(row)
        if (
            len(self._rows) >= self.flush_rows
            or time.monotonic() - self._flushed >= self.flush_seconds
        ):
            self.flush()

    def flush(self) -> None:
        """Write the rows kept so far as one part (nothing when there are none)."""
        self._flushed = time.monotonic()
        if not self._rows:
            return
        final = self.path / f"part-{self._run}-{self._count:06d}.parquet"
        temporary = self.path / f".{final.name}.tmp"
        try:
            pq.write_table(rows_table(self._rows), temporary)
            with open(temporary, "rb") as fh:
                os.fsync(fh.fileno())
            os.replace(temporary, final)
        except OSError as exc:
            self._rows = []  # not written: a rerun scores them again; close() does not retry
            with contextlib.suppress(OSError):
                temporary.unlink()
            raise DataError(f"cannot write a parquet part ({exc.strerror or exc})", final) from exc
        self._rows = []
        self._count += 1

    def close(self) -> None:
        """Write what is left."""
        self.flush()
