"""Settings kept between runs (QSettings): geometry, recent files, last folders, opacity,
model precision."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings

from cxr_model.inference.card import PRECISIONS
from cxr_model.inference.overlay import DEFAULT_OPACITY

ORGANIZATION = "cxr-desktop"
APPLICATION = "CXR Desktop"
MAX_RECENT = 10


class AppSettings:
    """Typed access to a QSettings store; pass `path` (an .ini file) to isolate it (tests)."""

    def __init__(self, path: str | Path | None = None) -> None:
        if path is None:
            self.store = QSettings(ORGANIZATION, APPLICATION)
        else:
            self.store = QSettings(str(path), QSettings.Format.IniFormat)

    def _get(self, key: str, default: str = "") -> str:
        value = self.store.value(key, default)
        return default if value is None else str(value)

    def recent_files(self) -> list[Path]:
        """Recently opened images, newest first."""
        value = self.store.value("recent_files", [])
        if isinstance(value, str):
            value = [value]
        return [Path(item) for item in (value or []) if item]

    def add_recent(self, path: Path) -> None:
        """Put `path` first in the recent files list."""
        path = Path(path).resolve()
        files = [path] + [p for p in self.recent_files() if p != path]
        self.store.setValue("recent_files", [str(p) for p in files[:MAX_RECENT]])

    def clear_recent(self) -> None:
        self.store.setValue("recent_files", [])

    def last_folder(self, kind: str) -> str:
        """Last folder used for `kind` ('image', 'report', 'scan', 'export')."""
        return self._get(f"folders/{kind}")

    def set_last_folder(self, kind: str, folder: Path) -> None:
        self.store.setValue(f"folders/{kind}", str(folder))

    def opacity(self) -> float:
        try:
            return min(1.0, max(0.0, float(self.store.value("overlay/opacity", DEFAULT_OPACITY))))
        except (TypeError, ValueError):
            return DEFAULT_OPACITY

    def set_opacity(self, value: float) -> None:
        self.store.setValue("overlay/opacity", float(value))

    def precision(self) -> str:
        """Model precision: "auto" (int8 when its accuracy gates passed), "int8" or "fp32"."""
        value = self._get("model/precision", "auto")
        return value if value in PRECISIONS else "auto"

    def set_precision(self, value: str) -> None:
        if value not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, not {value!r}")
        self.store.setValue("model/precision", value)

    def geometry(self) -> QByteArray | None:
        value = self.store.value("window/geometry")
        return value if isinstance(value, QByteArray) else None

    def set_geometry(self, value: QByteArray) -> None:
        self.store.setValue("window/geometry", value)

    def sync(self) -> None:
        self.store.sync()
