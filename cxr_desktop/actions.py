"""Making QActions the same way everywhere: shortcuts, status tips, checkable or not."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction, QKeySequence


def make_action(parent: QObject, text: str, slot: Callable, shortcut: Any = None,
                checkable: bool = False, tip: str = "") -> QAction:
    """An action calling `slot` (with the checked state when `checkable`); `shortcut` is one
    key sequence or a list of them, the first being the one menus show."""
    action = QAction(text, parent)
    if shortcut is not None:
        shortcuts = shortcut if isinstance(shortcut, list) else [shortcut]
        action.setShortcuts([QKeySequence(s) for s in shortcuts])
    action.setCheckable(checkable)
    action.setStatusTip(tip)
    (action.toggled if checkable else action.triggered).connect(slot)
    return action
