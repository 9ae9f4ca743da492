"""DICOM TLS against DCMTK: `cxr pacs` verbs to `storescp +tls`, `storescu +tls` to
`cxr listen --tls-*`, and every refusal (plain, no client certificate, another CA, expired,
wrong host name) said in words, logged by the listener and never scored."""

from __future__ import annotations

import stat
import subprocess
from pathlib import Path

import pydicom
import pytest
from helpers_orthanc import free_port, storescu, write_study
from helpers_tls import Pki, TlsStorescp, make_pki, storescu_tls
from test_listen import LISTEN_AET, Listening

from cxr_model.cli.common import EXIT_NETWORK
from cxr_model.cli.main import main


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def storescp(pki, dcmtk, tmp_path):
    """Start DCMTK storescp +tls servers (with a given certificate); stopped by PID."""
    started: list[TlsStorescp] = []

    def start(server=None) -> TlsStorescp:
        started.append(TlsStorescp(server or pki.server, pki.ca, tmp_path / f"scp{len(started)}"))
        return started[-1]

    yield start
    for scp in started:
        scp.stop()


def _client(pki: Pki, ca: Path | None = None, pair=None) -> list[str]:
    args = ["--tls-ca", str(ca or pki.ca)]
    pair = pki.client if pair is None else pair
    return [*args, "--tls-cert", str(pair.cert), "--tls-key", str(pair.key)] if pair else args


def test_echo_and_send_over_tls_to_storescp(storescp, pki, xray, tmp_path, capsys):
    scp = storescp()
    assert main(["pacs", "echo", scp.node, "--timeout", "5", *_client(pki)]) == 0
    [image] = write_study(tmp_path / "s", xray, "CXRT-TLS-SEND")
    assert main(["pacs", "send", scp.node, str(image), *_client(pki)]) == 0
    assert "sent 1 instance(s)" in capsys.readouterr().out
    [received] = list(scp.out.iterdir())
    assert pydicom.dcmread(received).SOPInstanceUID == pydicom.dcmread(image).SOPInstanceUID


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("plain", "a TLS port does not answer plain DICOM: give --tls-ca"),
        ("no client certificate", "it refused our client certificate"),
        ("client certificate of another CA", "it refused our client certificate"),
        ("expired client certificate", "it refused our client certificate as expired"),
        ("server unknown to our CA", "its certificate is unknown: not signed by the CA"),
        ("expired server certificate", "its certificate has expired"),
        ("wrong host name", "its certificate is not for the host name '127.0.0.1'"),
    ],
)
def test_each_tls_failure_is_exit_4_saying_what_failed(storescp, pki, capsys, case, expected):
    server = {
        "expired server certificate": pki.expired_server,
        "wrong host name": pki.wrong_host_server,
    }.get(case, pki.server)
    scp = storescp(server)
    options = {
        "plain": [],
        "no client certificate": _client(pki, pair=False),
        "client certificate of another CA": _client(pki, pair=pki.foreign_client),
        "expired client certificate": _client(pki, pair=pki.expired_client),
        "server unknown to our CA": _client(pki, ca=pki.other_ca),
    }.get(case, _client(pki))
    assert main(["pacs", "echo", scp.node, "--timeout", "5", *options]) == EXIT_NETWORK
    err = capsys.readouterr().err
    assert expected in err and scp.node in err


def test_bad_tls_options_are_bad_input(pki, tmp_path, capsys):
    node = f"PACS@127.0.0.1:{free_port()}"
    cases = [
        (["--tls-cert", str(pki.client.cert)], "--tls-cert and --tls-key go together"),
        (["--tls-ca", str(tmp_path / "none.pem")], "none.pem: no such file"),
        (["--tls-cert", str(pki.client.cert), "--tls-key", str(pki.client.key)], "--tls-ca"),
        (
            ["--tls-ca", str(pki.ca), "--tls-cert", str(pki.client.cert)]
            + ["--tls-key", str(pki.server.key)],
            "the key must match the certificate",
        ),
        (["--tls-ca", str(pki.client.key)], "is not a PEM CA certificate"),
    ]
    for options, expected in cases:
        assert main(["pacs", "echo", node, *options]) == 2
        assert expected in capsys.readouterr().err


def tls_1_1_client(port: int, pki: Pki) -> subprocess.CompletedProcess:
    """openssl s_client limited to TLS 1.1 (its security level lowered so that it offers it)."""
    return subprocess.run(
        ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-tls1_1", "-cipher",
         "DEFAULT@SECLEVEL=0", "-cert", str(pki.client.cert), "-key", str(pki.client.key)],
        input="", capture_output=True, text=True, timeout=30,
    )  # fmt: skip


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_tls_listener_scores_storescu_tls_and_refuses_the_rest(
    model_dir, pki, dcmtk, xrays, model, tmp_path
):
    out = tmp_path / "out"
    listener = Listening(
        model_dir,
        out,
        "--tls-cert",
        str(pki.server.cert),
        "--tls-key",
        str(pki.server.key),
        "--tls-ca",
        str(pki.ca),
        "--allow",
        "LOADER",
    )
    try:
        assert "over TLS" in listener.text()
        refused = write_study(tmp_path / "r", xrays[0], "CXRT-TLS-REFUSED")
        attempts = {
            "not a TLS connection": storescu(listener.port, refused, called=LISTEN_AET),
            "presented no client certificate": storescu_tls(
                listener.port, refused, None, pki.ca, LISTEN_AET
            ),
            "not signed by our --tls-ca": storescu_tls(
                listener.port, refused, pki.foreign_client, pki.ca, LISTEN_AET
            ),
            "client certificate has expired": storescu_tls(
                listener.port, refused, pki.expired_client, pki.ca, LISTEN_AET
            ),
            "a TLS version below 1.2": tls_1_1_client(listener.port, pki),
        }
        intruder = storescu_tls(
            listener.port, refused, pki.client, pki.ca, LISTEN_AET, aet="INTRUDER"
        )
        [image] = write_study(
            tmp_path / "g",
            xrays[1],
            "CXRT-TLS-GOOD",
            PatientName="Zyxwvut^Qqqsecretname",
        )
        good = storescu_tls(listener.port, [image], pki.client, pki.ca, LISTEN_AET)
        assert good.returncode == 0, good.stderr
        listener.wait_rows(1)
        again = storescu_tls(listener.port, [image], pki.client, pki.ca, LISTEN_AET)
        assert again.returncode == 0, again.stderr  # a resend: stored, not scored twice
        assert listener.stop() == 0
        [row] = listener.rows()
    finally:
        listener.stop()
    ds = pydicom.dcmread(image)
    assert row["sop_uid"] == ds.SOPInstanceUID and row["error"] == ""
    assert float(row["probability"]) == pytest.approx(model.predict(image).probability, abs=1e-5)
    log, audit = listener.text(), (out / "audit.log").read_text()
    for reason, result in attempts.items():
        assert result.returncode != 0, reason
        assert "refused a connection from 127.0.0.1:" in log and reason in log, reason
        assert reason in audit, reason
    assert audit.count("connection-refused") == len(attempts)
    assert intruder.returncode != 0
    assert "association-refused" in audit and "calling=INTRUDER" in audit
    assert audit.count("association-accepted") == 2 and "tls=yes" in audit
    assert f"stored sop={ds.SOPInstanceUID}" in audit
    assert f"result sop={ds.SOPInstanceUID} written=scored" in audit
    assert audit.count(f"stored sop={ds.SOPInstanceUID}") == 2 and "again=yes" in audit
    assert audit.count("result sop=") == 1
    assert [p.name for p in out.rglob("*.dcm")] == [f"{ds.SOPInstanceUID}.dcm"]
    # patient data kept in its place: private folders and files, no name or ID in any log
    assert _mode(out) == 0o700
    for path in out.rglob("*"):
        assert _mode(path) == (0o700 if path.is_dir() else 0o600), path
    for text in (log, audit):
        for secret in ("Zyxwvut", "Qqqsecretname", "CXRT-TLS", str(ds.PatientBirthDate)):
            assert secret not in text


def test_listener_forwards_results_over_tls(model_dir, storescp, pki, dcmtk, xray, tmp_path):
    scp = storescp()
    forward = ["--forward", scp.node, "--forward-tls-ca", str(pki.ca)]
    forward += [
        "--forward-tls-cert",
        str(pki.client.cert),
        "--forward-tls-key",
        str(pki.client.key),
    ]
    listener = Listening(model_dir, tmp_path / "out", *forward)
    try:
        [image] = write_study(tmp_path / "f", xray, "CXRT-TLS-FORWARD")
        assert storescu(listener.port, [image], called=LISTEN_AET).returncode == 0
        [row] = listener.wait_rows(1)
        assert listener.stop() == 0
    finally:
        listener.stop()
    assert row["error"] == "" and row["probability"]
    modalities = sorted(str(pydicom.dcmread(p).Modality) for p in scp.out.iterdir())
    assert modalities == ["OT", "SR"]  # the SR + Secondary Capture, received over TLS
