"""A node's TLS and credentials in the app: Test (echo) against DCMTK `storescp +tls` says
what failed (certificate unknown, expired, wrong host name, plain to a TLS port); passwords go
to the keyring (a test-only in-memory backend), never the settings file, and where no keyring
exists the editor says so and keeps the secret only in memory."""

from __future__ import annotations

import keyring
import pytest
from desktop_helpers import WAIT_MS
from helpers_orthanc import missing_tools
from helpers_tls import TlsStorescp, make_pki
from keyring.backend import KeyringBackend
from keyring.backends import fail
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog

from cxr_desktop.dialogs import pacs_dialog
from cxr_desktop.dialogs.pacs_nodes import NodeEditor
from cxr_desktop.pacs_security import KEYRING_SERVICE, SECRETS, NodeSecurity
from cxr_desktop.workers.pacs import pacs_for


class MemoryKeyring(KeyringBackend):
    """A keyring that works without a desktop session (tests only)."""

    priority = 1

    def __init__(self) -> None:
        super().__init__()
        self.items: dict[tuple[str, str], str] = {}

    def get_password(self, service, username):
        return self.items.get((service, username))

    def set_password(self, service, username, password):
        self.items[(service, username)] = password

    def delete_password(self, service, username):
        self.items.pop((service, username), None)


@pytest.fixture
def memory_keyring():
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@pytest.fixture
def no_keyring():
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    yield
    keyring.set_keyring(previous)
    SECRETS._memory.clear()


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("pki"))


def scripted_editor(monkeypatch, *answers):
    """NodeEditor filled in as a person would, then OK."""
    answers_left = iter(answers)

    class Scripted(NodeEditor):
        def exec(self):
            fields = next(answers_left)
            for name, value in fields.items():
                if name == "token":
                    self.token_box.setChecked(value)
                else:
                    getattr(self, f"{name}_edit").setText(value)
            self.accept()
            return (
                QDialog.DialogCode.Accepted
                if self.result() == QDialog.DialogCode.Accepted
                else QDialog.DialogCode.Rejected
            )

    monkeypatch.setattr(pacs_dialog, "NodeEditor", Scripted)


def test_password_goes_to_the_keyring_not_the_settings(
    qtbot, window, settings, tmp_path, memory_keyring, monkeypatch
):
    url = "https://pacs.example/dicom-web"
    secret = "Kr-s3cret-Pw-77"
    scripted_editor(
        monkeypatch,
        {"name": "Web", "address": url, "user": "reader", "secret": secret, "ca": "system"},
        {"name": "Web", "address": url, "user": "reader", "secret": ""},  # keep the password
    )
    dialog = window.pacs.open_dialog()
    dialog.add_node()
    assert memory_keyring.items == {(KEYRING_SERVICE, url): secret}
    assert settings.node_security(url) == NodeSecurity(tls_ca="system", user="reader")
    pacs = pacs_for(settings, url)
    assert pacs.credentials.user == "reader" and pacs.credentials.password == secret
    assert secret not in repr(pacs)
    dialog.edit_node()
    assert pacs_for(settings, url).credentials.password == secret
    settings.sync()
    assert secret not in (tmp_path / "settings.ini").read_text()
    dialog.remove_node()
    assert memory_keyring.items == {} and settings.node_security(url) == NodeSecurity()


def test_without_a_keyring_the_editor_says_so_and_keeps_it_in_memory(
    qtbot, settings, no_keyring, tmp_path
):
    editor = NodeEditor(None, "Web", "https://pacs.example/dicom-web")
    qtbot.addWidget(editor)
    assert "no system keyring is available" in editor.keyring_note.text()
    assert "kept until CXR Desktop closes" in editor.keyring_note.text()
    SECRETS.save("https://pacs.example/dicom-web", "tok-123")
    security = NodeSecurity(token=True)
    settings.set_node_security("https://pacs.example/dicom-web", security)
    assert pacs_for(settings, "https://pacs.example/dicom-web").credentials.token == "tok-123"
    settings.sync()
    assert "tok-123" not in (tmp_path / "settings.ini").read_text()


def test_the_editor_refuses_incomplete_security(qtbot, pki, no_keyring, tmp_path):
    cases = [
        ({"ca": str(tmp_path / "missing.pem")}, "missing.pem: no such file"),
        ({"cert": str(pki.client.cert), "key": str(pki.client.key)}, "DICOM TLS needs a CA"),
        ({"ca": str(pki.ca), "cert": str(pki.client.cert)}, "go together"),
        ({"user": "reader", "secret": "x"}, "for DICOMweb nodes"),
    ]
    for fields, expected in cases:
        editor = NodeEditor(None, "n", "PACS@127.0.0.1:104")
        qtbot.addWidget(editor)
        for name, value in fields.items():
            getattr(editor, f"{name}_edit").setText(value)
        editor.accept()
        assert editor.result() != QDialog.DialogCode.Accepted
        assert expected in editor.problem.text()
    web = NodeEditor(None, "w", "https://pacs.example/dw")
    qtbot.addWidget(web)
    web.user_edit.setText("reader")
    web.accept()  # no password typed and none known
    assert "no password or token is known" in web.problem.text()


@pytest.mark.skipif(bool(missing_tools("storescp")), reason="DCMTK is not installed")
def test_test_button_says_what_failed_with_tls(qtbot, window, settings, pki, tmp_path):
    good = NodeSecurity(str(pki.ca), str(pki.client.cert), str(pki.client.key))
    cases = [
        (pki.server, good, "answers."),
        (pki.server, NodeSecurity(), "a TLS port does not answer plain DICOM"),
        (pki.server, NodeSecurity(str(pki.other_ca)), "its certificate is unknown"),
        (pki.expired_server, good, "its certificate has expired"),
        (pki.wrong_host_server, good, "its certificate is not for the host name"),
        (pki.server, NodeSecurity(str(pki.ca)), "it refused our client certificate"),
    ]
    settings.set_pacs_timeout(3)
    servers = []
    try:
        for number, (server, security, _) in enumerate(cases):
            servers.append(TlsStorescp(server, pki.ca, tmp_path / f"scp{number}"))
            settings.set_node_security(servers[-1].node, security)
        settings.set_pacs_nodes([{"name": scp.node, "address": scp.node} for scp in servers])
        dialog = window.pacs.open_dialog()
        for index, (_, _, expected) in enumerate(cases):
            dialog.node_combo.setCurrentIndex(index)
            qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
            qtbot.waitUntil(lambda: not dialog.busy, timeout=WAIT_MS)
            assert expected in dialog.status.text(), dialog.status.text()
    finally:
        for scp in servers:
            scp.stop()
