"""A node is `AET@HOST:PORT` (DIMSE) or an `http(s)://HOST:PORT/PATH` DICOMweb root."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

#: Our own AE title unless `--aet` or the app's settings say otherwise.
DEFAULT_AET = "CXRDESKTOP"
#: Seconds: opening a connection, one network read (DIMSE message / HTTP response), ACSE.
DEFAULT_TIMEOUT = 10.0

_AET = re.compile(r"^[\x20-\x7e]{1,16}$")


def valid_aet(value: str) -> str:
    """An AE title: 1-16 printable ASCII characters, not only spaces, no backslash."""
    text = value.strip()
    if not text or not _AET.match(text) or "\\" in text:
        raise ValueError(f"{value!r} is not an AE title (1-16 printable characters, no '\\')")
    return text


def aet_list(text: str | None) -> list[str] | None:
    """`A,B` -> ["A", "B"] (ValueError for a bad AE title); None for none."""
    return [valid_aet(v) for v in text.split(",") if v.strip()] if text else None


@dataclass(frozen=True)
class Node:
    """A remote DICOM node: DIMSE (`aet`, `host`, `port`) or DICOMweb (`url`)."""

    host: str
    port: int
    aet: str | None = None
    url: str | None = None

    @property
    def is_web(self) -> bool:
        return self.url is not None

    def __str__(self) -> str:
        return self.url if self.url else f"{self.aet}@{self.host}:{self.port}"

    def what_to_check(self) -> str:
        """What a person should check when this node does not answer as expected."""
        if self.is_web:
            return (
                f"check that the DICOMweb server at {self.url} is running, that the URL "
                "is its DICOMweb root (e.g. .../dicom-web) and that it lets us in"
            )
        return (
            f"check that a DICOM node is listening on {self.host}:{self.port}, that its "
            f"AE title is {self.aet}, and that it knows our AE title (and address)"
        )


def parse_node(text: str) -> Node:
    """Parse `AET@HOST:PORT` or an `http(s)://` DICOMweb root; ValueError when it is neither."""
    text = text.strip()
    if text.lower().startswith(("http://", "https://")):
        parts = urlsplit(text)
        if not parts.hostname:
            raise ValueError(f"{text!r}: a DICOMweb node needs a host name")
        try:
            port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
        except ValueError as exc:
            raise ValueError(f"{text!r}: {exc}") from None
        return Node(host=parts.hostname, port=port, url=text.rstrip("/"))
    aet, at, address = text.rpartition("@")
    host, colon, port_text = address.rpartition(":")
    if not at or not colon or not host:
        raise ValueError(
            f"{text!r} is not a node: use AET@HOST:PORT or "
            "http(s)://HOST:PORT/PATH (a DICOMweb root)"
        )
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ValueError(f"{text!r}: the port must be a number from 1 to 65535")
    return Node(host=host.strip("[]"), port=int(port_text), aet=valid_aet(aet))
