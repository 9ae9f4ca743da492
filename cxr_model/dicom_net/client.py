"""One entry point for talking to a node, whichever protocol it speaks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pydicom.dataset import Dataset

from cxr_model.dicom_net.node import DEFAULT_AET, DEFAULT_TIMEOUT, Node
from cxr_model.dicom_net.query import FindResult, StudyQuery
from cxr_model.dicom_net.tls import TlsOptions
from cxr_model.dicom_net.web_auth import WebCredentials


def _protocols():
    """The DIMSE and DICOMweb modules, imported on first use (pynetdicom and requests are
    not needed by commands that never touch the network)."""
    from cxr_model.dicom_net import dimse, web

    return dimse, web


@dataclass(frozen=True)
class Pacs:
    """A node seen from our AE: echo, find, retrieve and send, each with a timeout.

    Every failure to reach the node or have it do what was asked is a NetworkError whose
    message names the node and what to check. `tls`: DICOM TLS to a DIMSE node, the HTTPS
    CA (and client certificate) of a DICOMweb one; `credentials`: DICOMweb's user or token.
    """

    node: Node
    aet: str = DEFAULT_AET
    timeout: float = DEFAULT_TIMEOUT
    tls: TlsOptions | None = None
    credentials: WebCredentials | None = field(default=None, repr=False)

    def echo(self) -> None:
        """C-ECHO, or a one-study QIDO-RS query for a DICOMweb node."""
        dimse, web = _protocols()
        if self.node.is_web:
            web.echo(self.node, self.timeout, self.tls, self.credentials)
        else:
            dimse.echo(self.node, self.aet, self.timeout, self.tls)

    def find(self, query: StudyQuery) -> FindResult:
        """Studies matching the query (C-FIND or QIDO-RS), at most `query.limit`."""
        dimse, web = _protocols()
        if self.node.is_web:
            return web.find(self.node, query, self.timeout, self.tls, self.credentials)
        return dimse.find(self.node, query, self.aet, self.timeout, self.tls)

    def retrieve(
        self,
        study_uid: str,
        out_dir: Path,
        *,
        move_port: int | None = None,
        bind: str = "",
        on_file: Callable[[Path], None] | None = None,
        cancelled: Callable[[], bool] = lambda: False,
    ) -> list[Path]:
        """A study's instances into OUT/STUDY/SERIES/SOP.dcm: WADO-RS for DICOMweb, C-MOVE to
        our receiver on `move_port` when given, else C-GET. Returns the files written;
        `on_file` hears of each as it lands. CancelledError (files kept) once `cancelled()`."""
        dimse, web = _protocols()
        if self.node.is_web:
            return web.retrieve(
                self.node,
                study_uid,
                out_dir,
                self.timeout,
                on_file,
                cancelled,
                self.tls,
                self.credentials,
            )
        if move_port is not None:
            return dimse.move_study(
                self.node,
                study_uid,
                out_dir,
                self.aet,
                self.timeout,
                move_port,
                bind,
                on_file,
                cancelled,
                self.tls,
            )
        return dimse.get_study(
            self.node, study_uid, out_dir, self.aet, self.timeout, on_file, cancelled, self.tls
        )

    def send(self, items: list[Path | Dataset]) -> int:
        """C-STORE or STOW-RS files/datasets; the number stored."""
        if not items:
            return 0
        dimse, web = _protocols()
        if self.node.is_web:
            return web.store(self.node, items, self.timeout, self.tls, self.credentials)
        return dimse.store(self.node, items, self.aet, self.timeout, self.tls)
