"""A node's TLS files and DICOMweb credentials in the app. File paths and the user name go in
the settings; the password or token goes in the system keyring (`keyring`), or, where none is
available, stays in memory until the app closes, and the editor says so."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from cxr_model.dicom_net.tls import TlsOptions
from cxr_model.dicom_net.web_auth import WebCredentials

#: The keyring service our secrets are filed under (one entry per node address).
KEYRING_SERVICE = "CXR Desktop PACS"


@dataclass(frozen=True)
class NodeSecurity:
    """TLS (`tls_ca` a file or "system"; a client certificate and key) and DICOMweb
    credentials (`user` for HTTP basic, or `token` for a bearer token) of one node."""

    tls_ca: str = ""
    tls_cert: str = ""
    tls_key: str = ""
    user: str = ""
    token: bool = False

    @classmethod
    def from_dict(cls, data: object) -> NodeSecurity:
        if not isinstance(data, dict):
            return cls()
        return cls(
            **{
                key: (bool(data[key]) if key == "token" else str(data[key]))
                for key in ("tls_ca", "tls_cert", "tls_key", "user", "token")
                if key in data
            }
        )

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    @property
    def needs_secret(self) -> bool:
        return self.token or bool(self.user)

    def tls(self) -> TlsOptions | None:
        """TlsOptions, or None when no TLS field is set; ValueError for a missing file."""
        if not (self.tls_ca or self.tls_cert or self.tls_key):
            return None
        return TlsOptions(
            ca=self.tls_ca or None,
            cert=Path(self.tls_cert) if self.tls_cert else None,
            key=Path(self.tls_key) if self.tls_key else None,
        )


def keyring_problem() -> str | None:
    """Why secrets cannot go in a system keyring here (None: they can)."""
    try:
        import keyring
        from keyring.backends import fail
    except ImportError:
        return "the keyring package is not installed"
    backend = keyring.get_keyring()
    if isinstance(backend, fail.Keyring) or getattr(backend, "priority", 1) <= 0:
        return "no system keyring is available (no Secret Service, Keychain or Credential Locker)"
    return None


class Secrets:
    """Passwords and tokens by node address: the system keyring, else this run's memory."""

    def __init__(self) -> None:
        self._memory: dict[str, str] = {}

    def where(self) -> str:
        """Where a secret saved now is kept, for a person."""
        problem = keyring_problem()
        if problem is None:
            return "Passwords and tokens are kept in the system keyring."
        return f"Not saved: {problem}; the password or token is kept until CXR Desktop closes."

    def save(self, address: str, secret: str) -> None:
        if keyring_problem() is None:
            import keyring

            keyring.set_password(KEYRING_SERVICE, address, secret)
        else:
            self._memory[address] = secret

    def load(self, address: str) -> str | None:
        if address in self._memory:
            return self._memory[address]
        if keyring_problem() is None:
            import keyring

            return keyring.get_password(KEYRING_SERVICE, address)
        return None

    def forget(self, address: str) -> None:
        self._memory.pop(address, None)
        if keyring_problem() is None:
            import keyring
            from keyring.errors import PasswordDeleteError

            try:
                keyring.delete_password(KEYRING_SERVICE, address)
            except PasswordDeleteError:
                pass

    def credentials(self, address: str, security: NodeSecurity) -> WebCredentials | None:
        """The node's credentials; ValueError when its secret is not known (any more)."""
        if not security.needs_secret:
            return None
        secret = self.load(address)
        if secret is None:
            raise ValueError(f"no password or token is known for {address}: enter it again (Edit…)")
        if security.token:
            return WebCredentials(token=secret, source="the token saved for this node")
        return WebCredentials(
            user=security.user, password=secret, source="the password saved for this node"
        )


#: The app's one secret store (its memory fallback lives as long as the process).
SECRETS = Secrets()
