"""Toolbar icons: Tabler Icons (MIT) rendered to PNG in resources/icons by
packaging/render_icons.py; only the icons named here ship."""

from __future__ import annotations

from functools import cache

from PySide6.QtGui import QIcon

from cxr_model.inference.card import resources_dir

ICON_SET = "Tabler Icons 3.52.0"
ICON_LICENSE = "LICENSE-tabler-icons.txt"
ICON_NAMES = (
    "folder-open",
    "folders",
    "stack-2",
    "file-export",
    "arrows-maximize",
    "zoom-reset",
    "zoom-in",
    "zoom-out",
    "contrast",
    "flame",
    "info-square",
    "hand-stop",
    "ruler-measure",
    "angle",
    "eraser",
    "tags",
    "layout-grid",
    "brain",
)


def icon_path(name: str):
    return resources_dir() / "icons" / f"{name}.png"


@cache
def icon(name: str) -> QIcon:
    """The shipped icon `name` (one of ICON_NAMES); a null icon if the file is missing."""
    if name not in ICON_NAMES:
        raise ValueError(f"no icon {name!r} ships (see ICON_NAMES)")
    path = icon_path(name)
    return QIcon(str(path)) if path.is_file() else QIcon()


def icon_license() -> str:
    """The icon set's licence text as shipped ("" when it is missing)."""
    path = resources_dir() / "icons" / ICON_LICENSE
    return path.read_text(encoding="utf-8") if path.is_file() else ""
