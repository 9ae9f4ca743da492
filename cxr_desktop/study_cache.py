"""The app's cache of retrieved studies (`CACHE/STUDY/SERIES/SOP.dcm`, folders 0700, files
0600): its size, a limit kept by removing the oldest studies first, an age past which
studies are removed at start, and clearing it. No Qt: the app runs these off the GUI thread."""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from cxr_model.files import private_folder

#: Defaults of the app's settings.
DEFAULT_LIMIT_BYTES = 2 * 1024**3
DEFAULT_MAX_AGE_DAYS = 30


@dataclass(frozen=True)
class CachedStudy:
    folder: Path
    size: int
    used: float  # the newest modification time inside it (when it was retrieved)


def _study(folder: Path) -> CachedStudy:
    size, used = 0, folder.stat().st_mtime
    for root, _dirs, files in os.walk(folder):
        for name in files:
            try:
                info = os.stat(os.path.join(root, name))
            except OSError:  # removed meanwhile
                continue
            size += info.st_size
            used = max(used, info.st_mtime)
    return CachedStudy(folder, size, used)


class StudyCache:
    """One cache folder; every method tolerates a folder that does not exist (yet)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def studies(self) -> list[CachedStudy]:
        """The cached studies, oldest first."""
        if not self.root.is_dir():
            return []
        found = [_study(p) for p in self.root.iterdir() if p.is_dir() and not p.is_symlink()]
        return sorted(found, key=lambda s: s.used)

    def size(self) -> int:
        return sum(s.size for s in self.studies())

    def make_private(self) -> None:
        """Create the folder 0700 (or make an existing one so)."""
        os.chmod(private_folder(self.root), 0o700)

    def _remove(self, study: CachedStudy) -> None:
        shutil.rmtree(study.folder, ignore_errors=True)

    def trim(self, limit_bytes: int, keep: str | None = None) -> int:
        """Remove the oldest studies until the cache holds at most `limit_bytes` (never the
        study `keep`); the number removed."""
        studies = self.studies()
        total = sum(s.size for s in studies)
        removed = 0
        for study in studies:
            if total <= limit_bytes:
                break
            if study.folder.name == keep:
                continue
            self._remove(study)
            total -= study.size
            removed += 1
        return removed

    def remove_older_than(self, days: float, now: float | None = None) -> int:
        """Remove the studies retrieved more than `days` ago; the number removed."""
        cutoff = (time.time() if now is None else now) - days * 86400
        old = [s for s in self.studies() if s.used < cutoff]
        for study in old:
            self._remove(study)
        return len(old)

    def clear(self) -> int:
        """Remove every cached study; the number removed."""
        studies = self.studies()
        for study in studies:
            self._remove(study)
        return len(studies)


def human_size(size: int) -> str:
    """1536 -> '1.5 KB' (powers of 1024, one decimal)."""
    value = float(size)
    for unit in ("bytes", "KB", "MB"):
        if value < 1024:
            return f"{value:.0f} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"
