"""A real Orthanc with AuthenticationEnabled and a registered user, its DICOM TLS on and its
DICOMweb behind HTTPS (a certificate of the test CA): `cxr pacs` with --user, --token-env,
--tls-ca; every refusal exit 4 naming the node and what to check; no secret in any output."""

from __future__ import annotations

import os
import signal
import socket
import stat
import subprocess
import time
from pathlib import Path

import pydicom
import pytest
from helpers_orthanc import OUR_AET, free_port, missing_tools, start_orthanc, write_study
from helpers_tls import make_pki

from cxr_model.cli.common import EXIT_BAD_INPUT, EXIT_NETWORK
from cxr_model.cli.main import main

USER, PASSWORD = "reader", "Orth4nc-s3cret-pw"


@pytest.fixture(scope="module")
def secured(tmp_path_factory):
    """Orthanc with a registered user and DICOM TLS requiring our certificate, its DICOMweb
    behind HTTPS (socat with a certificate of the test CA: Debian's Orthanc 1.10 crashes on
    its own HTTPS)."""
    missing = missing_tools("Orthanc", "socat")
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed (apt-get install orthanc socat)")
    folder = tmp_path_factory.mktemp("secured")
    pki = make_pki(folder / "pki")
    server = start_orthanc(
        folder / "orthanc",
        {
            "AuthenticationEnabled": True,
            "RegisteredUsers": {USER: PASSWORD},
            "DicomTlsEnabled": True,
            "DicomTlsCertificate": str(pki.server.cert),
            "DicomTlsPrivateKey": str(pki.server.key),
            "DicomTlsTrustedCertificates": str(pki.ca),
            "DicomTlsRemoteCertificateRequired": True,
        },
        user=(USER, PASSWORD),
        move_over_tls=True,
    )
    bundle = folder / "https.pem"
    bundle.write_text(pki.server.cert.read_text() + pki.server.key.read_text())
    front = HttpsFront(bundle, server.http_port)
    yield server, front.url, pki
    front.stop()
    server.stop()


class HttpsFront:
    """socat terminating HTTPS on 127.0.0.1 in front of a plain HTTP port; stopped by PID."""

    def __init__(self, bundle: Path, http_port: int) -> None:
        self.port = free_port()
        self.url = f"https://127.0.0.1:{self.port}/dicom-web"
        listen = f"OPENSSL-LISTEN:{self.port},bind=127.0.0.1,reuseaddr,fork,cert={bundle},verify=0"
        self.process = subprocess.Popen(
            ["socat", listen, f"TCP:127.0.0.1:{http_port}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.1)
        self.stop()
        raise AssertionError("socat did not listen")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
        self.process.wait(timeout=10)


def _run(capsys, *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert PASSWORD not in out + err
    return code, out + err


def test_dimse_over_tls_to_orthanc_send_find_get_move(secured, xray, tmp_path, capsys):
    server, web, pki = secured
    tls = ["--tls-ca", str(pki.ca), "--tls-cert", str(pki.client.cert)]
    tls += ["--tls-key", str(pki.client.key)]
    [image] = write_study(tmp_path / "s", xray, "CXRT-TLS-ORTHANC")
    uid = pydicom.dcmread(image).StudyInstanceUID
    assert _run(capsys, "pacs", "send", server.dimse, str(image), *tls)[0] == 0
    code, out = _run(capsys, "pacs", "find", server.dimse, "--patient-id", "CXRT-TLS-ORTHANC", *tls)
    assert code == 0 and uid in out
    code, out = _run(capsys, "pacs", "get", server.dimse, uid, "--out", str(tmp_path / "g"), *tls)
    assert code == 0 and "retrieved 1 instance(s)" in out
    for path in [tmp_path / "g", *(tmp_path / "g").rglob("*")]:  # patient data: private
        assert stat.S_IMODE(path.stat().st_mode) == (0o700 if path.is_dir() else 0o600), path
    move = ["--move", "--port", str(server.move_port), "--bind", "127.0.0.1"]
    code, out = _run(
        capsys, "pacs", "get", server.dimse, uid, "--out", str(tmp_path / "m"), *move, *tls
    )
    assert code == 0 and "retrieved 1 instance(s)" in out, out  # Orthanc moved it to us by TLS
    code, out = _run(capsys, "pacs", "echo", server.dimse, "--timeout", "5")  # plain: refused
    assert code == EXIT_NETWORK and "give --tls-ca" in out


def test_https_with_user_and_private_ca(secured, monkeypatch, capsys):
    server, web, pki = secured
    monkeypatch.setenv("CXR_PACS_PASSWORD", PASSWORD)
    code, out = _run(capsys, "pacs", "echo", web, "--user", USER, "--tls-ca", str(pki.ca))
    assert code == 0 and web in out, out
    code, out = _run(capsys, "pacs", "find", web, "--user", USER, "--tls-ca", str(pki.ca))
    assert code == 0


def test_https_refusals_are_exit_4_saying_what_to_check(secured, monkeypatch, capsys):
    server, web, pki = secured
    ca = ["--tls-ca", str(pki.ca)]
    monkeypatch.setenv("CXR_PACS_PASSWORD", "not-the-password")
    monkeypatch.setenv("CXR_TEST_TOKEN", "not-a-token")
    cases = [
        ([*ca], "it needs credentials: give --user NAME"),
        ([*ca, "--user", USER], "did not accept our credentials (HTTP 401)"),
        ([*ca, "--user", USER], f"check the user name '{USER}' and its password"),
        ([*ca, "--token-env", "CXR_TEST_TOKEN"], "check the bearer token in $CXR_TEST_TOKEN"),
        (["--user", USER], "its certificate could not be verified"),
        (["--tls-ca", str(pki.other_ca), "--user", USER], "check --tls-ca"),
    ]
    for options, expected in cases:
        code, out = _run(capsys, "pacs", "echo", web, *options)
        assert code == EXIT_NETWORK, out
        assert expected in out and web in out, out
        assert "not-the-password" not in out and "not-a-token" not in out


def test_missing_secrets_are_bad_input(secured, monkeypatch, capsys):
    server, web, pki = secured
    monkeypatch.delenv("CXR_PACS_PASSWORD", raising=False)
    monkeypatch.delenv("CXR_TEST_EMPTY", raising=False)
    cases = [
        (["--user", USER], "set CXR_PACS_PASSWORD (there is no terminal"),
        (["--token-env", "CXR_TEST_EMPTY"], "CXR_TEST_EMPTY: that environment variable is empty"),
        (["--user", USER, "--token-env", "X"], "not both"),
    ]
    for options, expected in cases:
        code, out = _run(capsys, "pacs", "echo", web, *options)
        assert code == EXIT_BAD_INPUT and expected in out, out
    code, out = _run(capsys, "pacs", "echo", f"{OUR_AET}@127.0.0.1:1", "--user", USER)
    assert code == EXIT_BAD_INPUT and "for DICOMweb nodes" in out
