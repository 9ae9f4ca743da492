"""DICOMweb credentials (HTTP basic or a bearer token) and the HTTPS session that carries them.
Secrets live in memory only: never in a repr, a message or a log line."""

from __future__ import annotations

from dataclasses import dataclass, field

import requests

from cxr_model.dicom_net.tls import SYSTEM_CA, TlsOptions

#: Where `--user NAME` reads the password from (else a terminal prompt).
PASSWORD_ENV = "CXR_PACS_PASSWORD"


@dataclass(frozen=True)
class WebCredentials:
    """HTTP basic (`user` + `password`) or a bearer `token`; `source` says where the secret
    came from, for the advice of a 401/403."""

    user: str | None = None
    password: str | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)
    source: str = ""

    def __post_init__(self) -> None:
        if (self.user is None) == (self.token is None):
            raise ValueError("DICOMweb credentials are a user and password, or a token")

    def apply(self, session: requests.Session) -> None:
        if self.token is not None:
            session.headers["Authorization"] = f"Bearer {self.token}"
        else:
            session.auth = (self.user or "", self.password or "")

    def what_to_check(self) -> str:
        if self.token is not None:
            return f"check the bearer token in {self.source} (expired? allowed on this node?)"
        return f"check the user name {self.user!r} and its password ({self.source})"


class _Session(requests.Session):
    """A session whose `--tls-ca` wins over REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE (requests lets
    those environment variables replace a session's own CA; proxies still come from it)."""

    ca: str | None = None

    def merge_environment_settings(self, url, proxies, stream, verify, cert):
        settings = super().merge_environment_settings(url, proxies, stream, verify, cert)
        if self.ca is not None:
            settings["verify"] = self.ca
        return settings


def web_session(tls: TlsOptions | None, credentials: WebCredentials | None) -> requests.Session:
    """A session that verifies HTTPS (against `tls.ca` when given, else the default store),
    presents `tls.cert` when given, and authenticates with `credentials`."""
    session = _Session()
    session.verify = True
    if tls is not None:
        if tls.ca is not None and tls.ca != SYSTEM_CA:
            session.verify = session.ca = str(tls.ca)
        if tls.cert is not None:
            session.cert = (str(tls.cert), str(tls.key))
    if credentials is not None:
        credentials.apply(session)
    return session
