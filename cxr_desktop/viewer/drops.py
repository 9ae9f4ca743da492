"""Files dragged onto a widget: which local paths a drag carries, and accepting it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QDragEnterEvent, QDropEvent


def dropped_paths(event: QDropEvent | QDragEnterEvent) -> list[Path]:
    """Local files carried by a drag."""
    mime = event.mimeData()
    if not mime.hasUrls():
        return []
    return [Path(url.toLocalFile()) for url in mime.urls() if url.isLocalFile()]


def accept_file_drag(event: QDragEnterEvent) -> None:
    if dropped_paths(event):
        event.acceptProposedAction()
    else:
        event.ignore()


class FileDropFilter(QObject):
    """Event filter: local files dropped on the watched widget go to `open_files` (a text
    editor then opens them instead of pasting their URLs)."""

    def __init__(
        self, open_files: Callable[[list[Path]], None], parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.open_files = open_files

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # Qt API
        kind = event.type()
        if kind in (QEvent.Type.DragEnter, QEvent.Type.DragMove, QEvent.Type.Drop):
            paths = dropped_paths(event)
            if paths:
                event.acceptProposedAction()
                if kind == QEvent.Type.Drop:
                    self.open_files(paths)
                return True
        return super().eventFilter(watched, event)
