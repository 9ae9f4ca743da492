"""DICOM TLS (DIMSE over TLS 1.2+): the client and listener SSL contexts, and failures said in
words a person can act on (certificate unknown, expired, wrong host name, refused)."""

from __future__ import annotations

import ssl
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

#: `--tls-ca system`: verify against the operating system's certificate store.
SYSTEM_CA = "system"

# OpenSSL X509_V_ERR_* codes that need their own advice.
_EXPIRED = 10
_NOT_YET_VALID = 9
_UNKNOWN_ISSUER = (2, 18, 19, 20, 21)
_HOST_MISMATCH = (62, 64)


@dataclass(frozen=True)
class TlsOptions:
    """`--tls-ca CA.pem|system`, `--tls-cert CERT.pem --tls-key KEY.pem`.

    Client side a CA turns TLS on; a certificate and key are then presented to the peer.
    Listener side the certificate and key turn TLS on; a CA then requires client certificates
    signed by it. ValueError names what is wrong with a file.
    """

    ca: str | None = None
    cert: Path | None = None
    key: Path | None = None

    def __post_init__(self) -> None:
        if (self.cert is None) != (self.key is None):
            raise ValueError("--tls-cert and --tls-key go together")
        for what, path in (
            ("--tls-ca", self.ca),
            ("--tls-cert", self.cert),
            ("--tls-key", self.key),
        ):
            if path is not None and str(path) != SYSTEM_CA and not Path(path).is_file():
                raise ValueError(f"{what} {path}: no such file")

    def _load_chain(self, context: ssl.SSLContext) -> None:
        if self.cert is None:
            return
        try:
            context.load_cert_chain(self.cert, self.key)
        except (ssl.SSLError, OSError) as exc:
            raise ValueError(
                f"cannot use the certificate {self.cert} with the key {self.key} ({exc}); "
                "both must be PEM files and the key must match the certificate"
            ) from None

    def _load_ca(self, context: ssl.SSLContext) -> None:
        if self.ca == SYSTEM_CA:
            context.load_default_certs(ssl.Purpose.SERVER_AUTH)
            return
        try:
            context.load_verify_locations(cafile=str(self.ca))
        except (ssl.SSLError, OSError) as exc:
            raise ValueError(f"--tls-ca {self.ca} is not a PEM CA certificate ({exc})") from None

    def client_context(self) -> ClientContext:
        """Verifies the node's certificate (and its host name) against the CA."""
        if self.ca is None:
            raise ValueError("TLS to a node needs --tls-ca (a CA file, or 'system')")
        context = ClientContext(ssl.PROTOCOL_TLS_CLIENT)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        self._load_ca(context)
        self._load_chain(context)
        context.sslsocket_class = _WatchedSocket
        return context

    def server_context(
        self, handshake_timeout: float, refused: Callable[[str, str], None]
    ) -> ServerContext:
        """The listener's context; `refused(peer, reason)` hears of every failed handshake."""
        if self.cert is None:
            raise ValueError("a TLS listener needs --tls-cert and --tls-key")
        context = ServerContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        self._load_chain(context)
        if self.ca is not None:
            self._load_ca(context)
            context.verify_mode = ssl.CERT_REQUIRED
        context.handshake_timeout = handshake_timeout
        context.refused = refused
        return context


class ClientContext(ssl.SSLContext):
    """A client context that remembers why its last handshake failed (pynetdicom only logs
    it)."""

    failure: ssl.SSLError | None = None


class _WatchedSocket(ssl.SSLSocket):
    """Records TLS failures on its context: in the handshake, or (TLS 1.3 checks the client
    certificate after the client's side is done) in the first read."""

    def connect(self, address) -> None:
        try:
            super().connect(address)
        except ssl.SSLError as exc:
            self.context.failure = exc
            raise

    def recv(self, buflen: int = 1024, flags: int = 0) -> bytes:
        try:
            return super().recv(buflen, flags)
        except ssl.SSLError as exc:
            self.context.failure = exc
            raise


class ServerContext(ssl.SSLContext):
    """A listener context whose handshakes time out and whose refusals are reported with the
    peer's address (pynetdicom's server drops them silently)."""

    handshake_timeout: float = 10.0
    refused: Callable[[str, str], None]

    def wrap_socket(self, sock, server_side=True, **kwargs):  # type: ignore[override]
        try:
            host, port = sock.getpeername()[:2]
            peer = f"{host}:{port}"
        except OSError:
            peer = "an unknown peer"
        sock.settimeout(self.handshake_timeout)  # a silent peer must not hold the accept loop
        try:
            wrapped = super().wrap_socket(sock, server_side=server_side, **kwargs)
        except (OSError, ValueError) as exc:
            self.refused(peer, listener_reason(exc))
            sock.close()
            raise
        wrapped.settimeout(None)
        return wrapped


def _code(exc: BaseException) -> int | None:
    return getattr(exc, "verify_code", None)


def listener_reason(exc: BaseException) -> str:
    """Why the listener refused a TLS connection."""
    if isinstance(exc, TimeoutError):
        return "no TLS handshake within the timeout"
    reason = str(getattr(exc, "reason", "") or "").upper()
    code = _code(exc)
    if code == _EXPIRED:
        return "its client certificate has expired"
    if code in _UNKNOWN_ISSUER or "UNKNOWN_CA" in reason:
        return "its client certificate is not signed by our --tls-ca"
    if "NO_CERTIFICATE" in reason or "PEER_DID_NOT_RETURN" in reason:
        return "it presented no client certificate (--tls-ca requires one)"
    if "WRONG_VERSION" in reason or "HTTP_REQUEST" in reason or "UNEXPECTED_EOF" in reason:
        return "not a TLS connection (a plain DICOM client?)"
    if "UNSUPPORTED_PROTOCOL" in reason or "VERSION_TOO_LOW" in reason:
        return "it offered a TLS version below 1.2"
    detail = getattr(exc, "verify_message", None) or reason.lower() or str(exc)
    return f"TLS handshake failed ({detail})"


def client_reason(exc: ssl.SSLError, host: str) -> str:
    """Why we could not open TLS to a node, and what to check."""
    code = _code(exc)
    reason = str(exc.reason or "").upper()
    if code == _EXPIRED:
        return "its certificate has expired (renew the node's certificate)"
    if code == _NOT_YET_VALID:
        return "its certificate is not valid yet (check the clocks)"
    if code in _HOST_MISMATCH:
        return (
            f"its certificate is not for the host name {host!r} (connect by the name in the "
            "certificate, or have it reissued)"
        )
    if code in _UNKNOWN_ISSUER:
        return "its certificate is unknown: not signed by the CA given with --tls-ca"
    if "WRONG_VERSION" in reason or "RECORD_LAYER" in reason:
        return "it does not speak TLS on this port"
    if any(word in reason for word in ("UNKNOWN_CA", "BAD_CERTIFICATE", "CERTIFICATE_REQUIRED")):
        return (
            "it refused our client certificate (give --tls-cert/--tls-key signed by a CA the "
            "node trusts)"
        )
    if "EXPIRED" in reason:
        return "it refused our client certificate as expired"
    detail = getattr(exc, "verify_message", None) or reason.lower() or str(exc)
    return f"the TLS handshake failed ({detail})"
