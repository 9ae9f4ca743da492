"""Settings kept between runs (QSettings): geometry, recent files, last folders, opacity,
the model folder opened last and its precision, PACS nodes (and their TLS files), our AE
title, the limits of the cache of retrieved studies, the listener and worklist folder, the
verdicts database."""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings

from cxr_desktop.pacs_security import NodeSecurity
from cxr_desktop.study_cache import DEFAULT_LIMIT_BYTES, DEFAULT_MAX_AGE_DAYS
from cxr_model.dicom_net.node import DEFAULT_AET, DEFAULT_TIMEOUT, valid_aet
from cxr_model.feedback.store import default_db_path
from cxr_model.inference.overlay import DEFAULT_OPACITY
from cxr_model.vocabulary import Precision, choices

ORGANIZATION = "cxr-desktop"
APPLICATION = "CXR Desktop"
MAX_RECENT = 10
DEFAULT_LISTEN_PORT = 11112


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
        value = self._get("model/precision", Precision.AUTO)
        return value if value in choices(Precision) else Precision.AUTO

    def set_precision(self, value: str) -> None:
        if value not in choices(Precision):
            raise ValueError(f"precision must be one of {choices(Precision)}, not {value!r}")
        self.store.setValue("model/precision", value)

    def pacs_nodes(self) -> list[dict[str, str]]:
        """Saved PACS nodes: [{"name": ..., "address": AET@HOST:PORT or a DICOMweb URL}]."""
        try:
            nodes = json.loads(self._get("pacs/nodes", "[]"))
        except ValueError:
            return []
        return [
            {"name": str(n["name"]), "address": str(n["address"])}
            for n in nodes
            if isinstance(n, dict) and "name" in n and "address" in n
        ]

    def set_pacs_nodes(self, nodes: list[dict[str, str]]) -> None:
        self.store.setValue("pacs/nodes", json.dumps(nodes))

    def _security(self) -> dict:
        try:
            value = json.loads(self._get("pacs/security", "{}"))
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}

    def node_security(self, address: str) -> NodeSecurity:
        """A node's TLS files and user name (never its password: that is in the keyring)."""
        return NodeSecurity.from_dict(self._security().get(address))

    def set_node_security(self, address: str, security: NodeSecurity) -> None:
        value = self._security()
        if security == NodeSecurity():
            value.pop(address, None)
        else:
            value[address] = security.to_dict()
        self.store.setValue("pacs/security", json.dumps(value))

    def our_aet(self) -> str:
        """Our AE title on the network (CXRDESKTOP unless changed)."""
        try:
            return valid_aet(self._get("pacs/aet", DEFAULT_AET))
        except ValueError:
            return DEFAULT_AET

    def pacs_timeout(self) -> float:
        """Seconds to wait for a PACS at each step."""
        try:
            return max(1.0, float(self.store.value("pacs/timeout", DEFAULT_TIMEOUT)))
        except (TypeError, ValueError):
            return DEFAULT_TIMEOUT

    def set_pacs_timeout(self, seconds: float) -> None:
        self.store.setValue("pacs/timeout", float(seconds))

    def set_our_aet(self, aet: str) -> None:
        self.store.setValue("pacs/aet", valid_aet(aet))

    def receive_settings(self) -> dict:
        """Worklist > Start receiving…: port, AE title, allow list (comma-separated), folder
        ("" for the default)."""
        try:
            port = int(self.store.value("listener/port", DEFAULT_LISTEN_PORT))
        except (TypeError, ValueError):
            port = DEFAULT_LISTEN_PORT
        return {
            "port": port if 0 < port < 65536 else DEFAULT_LISTEN_PORT,
            "aet": self._get("listener/aet") or self.our_aet(),
            "allow": self._get("listener/allow"),
            "folder": self._get("listener/folder"),
        }

    def set_receive_settings(self, port: int, aet: str, allow: str, folder: str) -> None:
        self.store.setValue("listener/port", int(port))
        self.store.setValue("listener/aet", valid_aet(aet))
        self.store.setValue("listener/allow", allow)
        self.store.setValue("listener/folder", folder)

    def worklist_folder(self) -> Path | None:
        """The listener folder the worklist followed last."""
        value = self._get("worklist/folder")
        return Path(value) if value else None

    def set_worklist_folder(self, folder: Path) -> None:
        self.store.setValue("worklist/folder", str(folder))

    def feedback_db(self) -> Path:
        """The verdicts database: the one chosen here, else $CXR_FEEDBACK_DB, else the
        user's data folder."""
        value = self._get("feedback/db")
        return Path(value) if value else default_db_path()

    def cache_limit_bytes(self) -> int:
        """The most the cache of retrieved studies may hold (oldest removed first)."""
        try:
            return max(0, int(float(self.store.value("cache/limit", DEFAULT_LIMIT_BYTES))))
        except (TypeError, ValueError):
            return DEFAULT_LIMIT_BYTES

    def set_cache_limit_bytes(self, size: int) -> None:
        self.store.setValue("cache/limit", int(size))

    def cache_max_age_days(self) -> int:
        """Studies retrieved longer ago than this are removed at start."""
        try:
            return max(1, int(self.store.value("cache/max_age_days", DEFAULT_MAX_AGE_DAYS)))
        except (TypeError, ValueError):
            return DEFAULT_MAX_AGE_DAYS

    def set_cache_max_age_days(self, days: int) -> None:
        self.store.setValue("cache/max_age_days", max(1, int(days)))

    def model_dir(self) -> Path | None:
        """The model folder opened last with Model > Open model folder… (None: the default)."""
        value = self._get("model/folder")
        return Path(value) if value else None

    def set_model_dir(self, folder: Path | None) -> None:
        self.store.setValue("model/folder", str(folder) if folder is not None else "")

    def geometry(self) -> QByteArray | None:
        value = self.store.value("window/geometry")
        return value if isinstance(value, QByteArray) else None

    def set_geometry(self, value: QByteArray) -> None:
        self.store.setValue("window/geometry", value)

    def sync(self) -> None:
        self.store.sync()
