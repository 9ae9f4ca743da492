"""Adding or editing a PACS node: a name, an address, its TLS files and DICOMweb credentials,
checked before they are kept (the password or token goes to the keyring, not the settings)."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QFormLayout,
    QLabel,
    QLineEdit,
    QWidget,
)

from cxr_desktop.dialogs.forms import ok_cancel, problem_label
from cxr_desktop.pacs_security import SECRETS, NodeSecurity
from cxr_model.dicom_net.node import parse_node


class NodeEditor(QDialog):
    """Name + address (`AET@HOST:PORT` or a DICOMweb URL) + security; OK only when valid."""

    def __init__(
        self,
        parent: QWidget | None = None,
        name: str = "",
        address: str = "",
        security: NodeSecurity | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("PACS node")
        security = security or NodeSecurity()
        self.name_edit = QLineEdit(name)
        self.address_edit = QLineEdit(address)
        self.address_edit.setPlaceholderText("AET@HOST:PORT  or  https://host/dicom-web")
        self.ca_edit = QLineEdit(security.tls_ca)
        self.ca_edit.setPlaceholderText("CA.pem, or 'system' (empty: DICOM without TLS)")
        self.cert_edit = QLineEdit(security.tls_cert)
        self.cert_edit.setPlaceholderText("our client certificate, CERT.pem (optional)")
        self.key_edit = QLineEdit(security.tls_key)
        self.key_edit.setPlaceholderText("its key, KEY.pem")
        self.user_edit = QLineEdit(security.user)
        self.user_edit.setPlaceholderText("DICOMweb user (HTTP basic)")
        self.token_box = QCheckBox("Bearer token instead of a user and password")
        self.token_box.setChecked(security.token)
        self.secret_edit = QLineEdit()
        self.secret_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.secret_edit.setPlaceholderText(
            "unchanged" if security.needs_secret else "password or token"
        )
        self.keyring_note = QLabel(SECRETS.where())
        self.keyring_note.setWordWrap(True)
        self.problem = problem_label()
        buttons = ok_cancel(self)
        form = QFormLayout(self)
        form.addRow("Name", self.name_edit)
        form.addRow("Address", self.address_edit)
        form.addRow("TLS CA", self.ca_edit)
        form.addRow("Client certificate", self.cert_edit)
        form.addRow("Client key", self.key_edit)
        form.addRow("User", self.user_edit)
        form.addRow("", self.token_box)
        form.addRow("Password / token", self.secret_edit)
        form.addRow(self.keyring_note)
        form.addRow(self.problem)
        form.addRow(buttons)

    def node(self) -> dict[str, str]:
        address = self.address_edit.text().strip()
        return {"name": self.name_edit.text().strip() or address, "address": address}

    def security(self) -> NodeSecurity:
        token = self.token_box.isChecked()
        return NodeSecurity(
            tls_ca=self.ca_edit.text().strip(),
            tls_cert=self.cert_edit.text().strip(),
            tls_key=self.key_edit.text().strip(),
            user="" if token else self.user_edit.text().strip(),
            token=token,
        )

    def secret(self) -> str | None:
        """The password or token typed (None: keep the one saved)."""
        return self.secret_edit.text() or None

    def accept(self) -> None:
        try:
            node = parse_node(self.address_edit.text())
            security = self.security()
            tls = security.tls()
            if tls is not None and tls.ca is None and not node.is_web:
                raise ValueError("DICOM TLS needs a CA (a CA file, or 'system')")
            if security.needs_secret and not node.is_web:
                raise ValueError("a user or token is for DICOMweb nodes")
            if security.needs_secret and self.secret() is None:
                SECRETS.credentials(self.node()["address"], security)  # one known already
        except ValueError as exc:
            self.problem.setText(str(exc))
            return
        super().accept()
