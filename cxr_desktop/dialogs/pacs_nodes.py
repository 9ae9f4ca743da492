"""Adding or editing a PACS node: a name and an address, checked before it is kept."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QWidget,
)

from cxr_model.dicom_net.node import parse_node


class NodeEditor(QDialog):
    """Name + address (`AET@HOST:PORT` or a DICOMweb URL); OK only for a valid address."""

    def __init__(self, parent: QWidget | None = None, name: str = "", address: str = "") -> None:
        super().__init__(parent)
        self.setWindowTitle("PACS node")
        self.name_edit = QLineEdit(name)
        self.address_edit = QLineEdit(address)
        self.address_edit.setPlaceholderText("AET@HOST:PORT  or  https://host/dicom-web")
        self.problem = QLabel()
        self.problem.setStyleSheet("color: #b00020")
        self.problem.setWordWrap(True)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow("Name", self.name_edit)
        form.addRow("Address", self.address_edit)
        form.addRow(self.problem)
        form.addRow(buttons)

    def node(self) -> dict[str, str]:
        address = self.address_edit.text().strip()
        return {"name": self.name_edit.text().strip() or address, "address": address}

    def accept(self) -> None:
        try:
            parse_node(self.address_edit.text())
        except ValueError as exc:
            self.problem.setText(str(exc))
            return
        super().accept()
