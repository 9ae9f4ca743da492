"""The message bar above the image: errors stay there until the next status message."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QStatusBar, QWidget


class MessageBar(QLabel):
    """A red bar for non-blocking errors; every message also goes to the status bar."""

    def __init__(self, status_bar: QStatusBar, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.status_bar = status_bar
        self.setObjectName("messageBar")
        self.setWordWrap(True)
        self.setStyleSheet("background:#fdecea;color:#611a15;padding:6px;border:1px solid #f5c6cb;")
        self.hide()

    def show_error(self, text: str) -> None:
        """A non-blocking error: message bar + status bar; nothing else changes."""
        self.setText(text)
        self.show()
        self.status_bar.showMessage(text)

    def show_status(self, text: str) -> None:
        self.hide()
        self.status_bar.showMessage(text)
