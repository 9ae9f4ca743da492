"""Making QActions the same way everywhere: shortcuts, icon, a tooltip that names the
shortcut, status tip, checkable or not."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDockWidget, QWidget

from cxr_desktop.icons import icon


def make_action(
    parent: QObject,
    text: str,
    slot: Callable,
    shortcut: Any = None,
    checkable: bool = False,
    tip: str = "",
    icon_name: str = "",
) -> QAction:
    """An action calling `slot` (with the checked state when `checkable`); `shortcut` is one
    key sequence or a list of them, the first being the one menus and tooltips show."""
    action = QAction(text, parent)
    if shortcut is not None:
        shortcuts = shortcut if isinstance(shortcut, list) else [shortcut]
        action.setShortcuts([QKeySequence(s) for s in shortcuts])
    if icon_name:
        action.setIcon(icon(icon_name))
    action.setCheckable(checkable)
    action.setStatusTip(tip)
    action.setToolTip(tooltip(action, tip))
    (action.toggled if checkable else action.triggered).connect(slot)
    return action


def tooltip(action: QAction, tip: str = "") -> str:
    """ "Zoom in (+)", or "Heatmap (H): Grad-CAM heatmap of …" with a tip."""
    name = action.text().replace("&&", "\0").replace("&", "").replace("\0", "&").rstrip("…")
    keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
    text = f"{name} ({keys})" if keys else name
    return f"{text}: {tip}" if tip else text


def make_dock(
    title: str, name: str, widget: QWidget, text: str, shortcut: str, tip: str, icon_name: str
) -> tuple[QDockWidget, QAction]:
    """A hidden dock around `widget` and its show/hide action (menus, toolbar)."""
    dock = QDockWidget(title)
    dock.setObjectName(name)
    dock.setWidget(widget)
    dock.hide()
    action = dock.toggleViewAction()
    action.setText(text)
    action.setShortcut(shortcut)
    action.setIcon(icon(icon_name))
    action.setStatusTip(tip)
    action.setToolTip(tooltip(action, tip))
    return dock, action
