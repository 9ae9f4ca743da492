"""Worklist > Start receiving…: the port, AE title, allow list and folder of the listener
the app runs (kept in the settings)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)

from cxr_model.dicom_net.node import aet_list, valid_aet


class ReceiveDialog(QDialog):
    """Asks for the listener's settings; `values()` checks them (ValueError with the reason)."""

    def __init__(self, settings: dict, default_folder: Path, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Start receiving")
        self.port = QSpinBox()
        self.port.setRange(1, 65535)
        self.port.setValue(int(settings["port"]))
        self.aet = QLineEdit(settings["aet"])
        self.allow = QLineEdit(settings["allow"])
        self.allow.setPlaceholderText("calling AE titles, comma-separated (empty: anyone)")
        self.folder = QLineEdit(settings["folder"] or str(default_folder))
        browse = QPushButton("Choose…")
        browse.clicked.connect(self._choose)
        where = QHBoxLayout()
        where.addWidget(self.folder, 1)
        where.addWidget(browse)
        self.problem = QLabel()
        self.problem.setStyleSheet("color:#b71c1c;")
        form = QFormLayout(self)
        form.addRow("Port", self.port)
        form.addRow("Our AE title", self.aet)
        form.addRow("Accept from", self.allow)
        form.addRow("Save to", where)
        form.addRow(self.problem)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def _choose(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Save received studies to", "")
        if folder:
            self.folder.setText(folder)

    def values(self) -> tuple[Path, int, str, list[str] | None]:
        """(folder, port, AE title, allow list)."""
        folder = self.folder.text().strip()
        if not folder:
            raise ValueError("choose the folder to save the received studies to")
        return (
            Path(folder),
            self.port.value(),
            valid_aet(self.aet.text()),
            aet_list(self.allow.text()),
        )

    def _accept(self) -> None:
        try:
            self.values()
        except ValueError as exc:
            self.problem.setText(str(exc))
            return
        self.accept()
