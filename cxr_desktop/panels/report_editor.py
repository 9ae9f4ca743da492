"""The report editor: type a radiology report, or load/save it as a .txt file."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtGui import QFont, QTextCursor
from PySide6.QtWidgets import QLabel, QPlainTextEdit, QVBoxLayout, QWidget

from cxr_model.errors import CXRError
from cxr_model.text.report import read_report


class ReportEditor(QWidget):
    """A QPlainTextEdit plus the name of the file it came from; tracks unsaved changes."""

    changed = Signal()  # the text changed (typed or loaded)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.path: Path | None = None
        self.title = QLabel()
        self.title.setObjectName("reportTitle")
        self.edit = QPlainTextEdit()
        self.edit.setPlaceholderText(
            "Type or drop the radiology report here (optional).\n"
            "The prediction fuses the image with this text; it updates as you type."
        )
        self.edit.setFont(QFont("monospace", 10))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.edit)
        self.edit.textChanged.connect(self.changed)
        self.edit.modificationChanged.connect(self._update_title)
        self._update_title()

    def _update_title(self) -> None:
        name = self.path.name if self.path else "unsaved report"
        star = " *" if self.is_modified() else ""
        self.title.setText(f"<b>Report</b> — {name}{star}")

    def text(self) -> str:
        return self.edit.toPlainText()

    def report(self) -> str | None:
        """The report for the model: None when blank."""
        text = self.text()
        return text if text.strip() else None

    def is_modified(self) -> bool:
        return self.edit.document().isModified()

    def set_report(self, text: str | None, path: Path | None = None) -> None:
        """Replace the text (unmodified afterwards)."""
        self.path = path
        self.edit.setPlainText(text or "")
        self.edit.moveCursor(QTextCursor.MoveOperation.End)
        self.edit.document().setModified(False)
        self._update_title()

    def load(self, path: Path) -> None:
        """Load a .txt report; raises ReportReadError (text left as it was)."""
        self.set_report(read_report(path), Path(path))

    def save(self, path: Path | None = None) -> Path:
        """Write the text (UTF-8) to `path` or the current file; raises CXRError."""
        target = Path(path) if path is not None else self.path
        if target is None:
            raise ValueError("no file to save to")
        try:
            target.write_text(self.text(), encoding="utf-8")
        except OSError as exc:
            raise CXRError(f"cannot save the report ({exc.strerror or exc})", target) from exc
        self.path = target
        self.edit.document().setModified(False)
        self._update_title()
        return target
