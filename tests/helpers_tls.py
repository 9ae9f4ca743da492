"""A test PKI made with the `openssl` command line: a CA, server and client certificates
signed by it (valid, expired, for another host name) and a second, unrelated CA with a client
certificate of its own. Plus DCMTK storescp as a TLS peer."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from helpers_orthanc import dcmtk, free_port

_CA_CONFIG = """[ca]
default_ca = test
[test]
dir = {dir}
database = {dir}/index.txt
new_certs_dir = {dir}
serial = {dir}/serial
default_md = sha256
policy = anything
unique_subject = no
[anything]
commonName = supplied
"""
_LEAF = """[leaf]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth, clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
subjectAltName = {san}
"""


def _openssl(*args: str, cwd: Path) -> None:
    result = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


@dataclass(frozen=True)
class Pair:
    """A certificate and its private key (PEM files)."""

    cert: Path
    key: Path


class TestCA:
    """A certificate authority in `folder`; `issue` signs leaf certificates."""

    def __init__(self, folder: Path, name: str) -> None:
        self.dir = folder / name
        self.dir.mkdir(parents=True)
        (self.dir / "index.txt").write_text("")
        (self.dir / "serial").write_text("1000\n")
        self.config = self.dir / "ca.cnf"
        self.config.write_text(_CA_CONFIG.format(dir=self.dir))
        self.cert, self.key = self.dir / "ca.pem", self.dir / "ca.key"
        _openssl(
            "req", "-x509", "-new", "-nodes", "-newkey", "rsa:2048", "-sha256", "-days", "30",
            "-keyout", str(self.key), "-out", str(self.cert), "-subj", f"/CN={name}",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            "-addext", "subjectKeyIdentifier=hash",
            cwd=self.dir,
        )  # fmt: skip

    def issue(self, name: str, san: str = "IP:127.0.0.1,DNS:localhost", expired: bool = False):
        """A leaf certificate for `san` (valid now, or expired yesterday)."""
        key, csr, cert = (self.dir / f"{name}{ext}" for ext in (".key", ".csr", ".pem"))
        ext = self.dir / f"{name}.ext"
        ext.write_text(_LEAF.format(san=san))
        _openssl(
            "req", "-new", "-nodes", "-newkey", "rsa:2048", "-keyout", str(key),
            "-out", str(csr), "-subj", f"/CN={name}",
            cwd=self.dir,
        )  # fmt: skip
        now = time.gmtime()
        if expired:
            dates = ["-startdate", "20200101000000Z", "-enddate", "20200201000000Z"]
        else:
            start = time.strftime("%Y%m%d%H%M%SZ", time.gmtime(time.mktime(now) - 86400))
            dates = ["-startdate", start, "-days", "30"]
        _openssl(
            "ca", "-batch", "-config", str(self.config), "-notext", "-in", str(csr),
            "-out", str(cert), "-cert", str(self.cert), "-keyfile", str(self.key),
            "-extfile", str(ext), "-extensions", "leaf", *dates,
            cwd=self.dir,
        )  # fmt: skip
        return Pair(cert, key)


@dataclass(frozen=True)
class Pki:
    """Everything the TLS tests present or trust."""

    ca: Path
    server: Pair
    client: Pair
    expired_server: Pair
    expired_client: Pair
    wrong_host_server: Pair
    other_ca: Path
    foreign_client: Pair


def make_pki(folder: Path) -> Pki:
    """The test PKI (skips the test when the openssl command is missing)."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is not installed (apt-get install openssl)")
    ca, other = TestCA(folder, "cxr-test-ca"), TestCA(folder, "other-ca")
    return Pki(
        ca=ca.cert,
        server=ca.issue("server"),
        client=ca.issue("client", san="DNS:cxr-client"),
        expired_server=ca.issue("expired-server", expired=True),
        expired_client=ca.issue("expired-client", san="DNS:cxr-client", expired=True),
        wrong_host_server=ca.issue("wrong-host", san="DNS:pacs.elsewhere.example"),
        other_ca=other.cert,
        foreign_client=other.issue("foreign-client", san="DNS:cxr-client"),
    )


class TlsStorescp:
    """DCMTK storescp over TLS on 127.0.0.1 (stopped by PID): accepts C-ECHO and C-STORE,
    requires a client certificate signed by `ca`."""

    def __init__(self, server: Pair, ca: Path, out: Path, aet: str = "STORESCP") -> None:
        self.port, self.aet, self.out = free_port(), aet, out
        out.mkdir(parents=True, exist_ok=True)
        self.log = out.parent / f"storescp-{self.port}.log"
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                [
                    dcmtk("storescp"), "-aet", aet, "+tls", str(server.key), str(server.cert),
                    "+cf", str(ca), "-od", str(out), str(self.port),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )  # fmt: skip
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text()
            if _port_open(self.port):
                return
            time.sleep(0.1)
        raise AssertionError(f"storescp did not start: {self.log.read_text()}")

    @property
    def node(self) -> str:
        return f"{self.aet}@127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=10)


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def storescu_tls(
    port: int, files: list[Path], pair: Pair | None, ca: Path, called: str, aet: str = "LOADER"
) -> subprocess.CompletedProcess:
    """DCMTK storescu over TLS (presenting `pair`, or anonymous TLS when None)."""
    tls = ["+tls", str(pair.key), str(pair.cert)] if pair else ["+tla"]
    return subprocess.run(
        [dcmtk("storescu"), "-aet", aet, "-aec", called, *tls, "+cf", str(ca), "127.0.0.1",
         str(port), *map(str, files)],
        capture_output=True,
        text=True,
        timeout=120,
    )  # fmt: skip
