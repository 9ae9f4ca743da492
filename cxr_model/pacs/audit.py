"""The listener's audit log (OUT/audit.log, mode 0600): one line per association (peer, AE
titles, TLS or not, accepted or refused and why) and per stored instance (SOP UID, result
written). UIDs, addresses and AE titles only: never a patient's name, ID or birth date."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

AUDIT_NAME = "audit.log"


def _value(value: object) -> str:
    """A field value on one line, quoted when it holds spaces."""
    text = " ".join(str(value).split())
    return f'"{text}"' if not text or " " in text or "=" in text else text


def audited_results(path: Path) -> set[str]:
    """The SOP UIDs that have a `result` line in the audit log at `path` (none: empty)."""
    if not Path(path).is_file():
        return set()
    found = set()
    for line in Path(path).read_text(encoding="utf-8", errors="replace").splitlines():
        parts = line.split()
        if len(parts) > 2 and parts[1] == "result":
            fields = dict(part.split("=", 1) for part in parts[2:] if "=" in part)
            if "sop" in fields:
                found.add(fields["sop"])
    return found


class AuditLog:
    """Appends `TIME EVENT key=value ...` lines, each flushed at once; thread-safe."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        os.fchmod(fd, 0o600)
        self._fh = os.fdopen(fd, "a", encoding="utf-8")
        self._lock = threading.Lock()

    def write(self, event: str, **fields: object) -> None:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        line = " ".join([stamp, event, *(f"{k}={_value(v)}" for k, v in fields.items())])
        with self._lock:
            if self._fh.closed:
                return
            self._fh.write(line + "\n")
            self._fh.flush()

    def close(self) -> None:
        with self._lock:
            self._fh.flush()
            os.fsync(self._fh.fileno())
            self._fh.close()
