"""DIMSE (pynetdicom): C-ECHO, C-FIND, C-GET, C-MOVE with our own C-STORE receiver, C-STORE;
over TLS when given `TlsOptions`."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from pydicom import dcmread
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import (
    JPEG2000,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    JPEGLossless,
    JPEGLosslessSV1,
    RLELossless,
)
from pynetdicom import AE, ALL_TRANSFER_SYNTAXES, AllStoragePresentationContexts, build_role, evt
from pynetdicom.association import Association
from pynetdicom.sop_class import (
    BasicTextSRStorage,
    Comprehensive3DSRStorage,
    ComprehensiveSRStorage,
    ComputedRadiographyImageStorage,
    DigitalXRayImageStorageForPresentation,
    DigitalXRayImageStorageForProcessing,
    EncapsulatedPDFStorage,
    EnhancedSRStorage,
    GrayscaleSoftcopyPresentationStateStorage,
    KeyObjectSelectionDocumentStorage,
    SecondaryCaptureImageStorage,
    StudyRootQueryRetrieveInformationModelFind,
    StudyRootQueryRetrieveInformationModelGet,
    StudyRootQueryRetrieveInformationModelMove,
    Verification,
)
from pynetdicom.status import (
    STATUS_PENDING,
    STATUS_SUCCESS,
    STATUS_WARNING,
    code_to_category,
)

from cxr_model.dicom_net.node import Node
from cxr_model.dicom_net.query import (
    FindResult,
    StudyMatch,
    StudyQuery,
    query_dataset,
    study_from_dataset,
)
from cxr_model.dicom_net.server import start_storage_server
from cxr_model.dicom_net.store_scp import StoreHandler
from cxr_model.dicom_net.tls import ClientContext, TlsOptions, client_reason
from cxr_model.errors import CancelledError, NetworkError

#: Storage SOP classes asked for in a C-GET (at most 128 contexts fit one association).
GET_STORAGE_CLASSES = (
    ComputedRadiographyImageStorage,
    DigitalXRayImageStorageForPresentation,
    DigitalXRayImageStorageForProcessing,
    SecondaryCaptureImageStorage,
    BasicTextSRStorage,
    EnhancedSRStorage,
    ComprehensiveSRStorage,
    Comprehensive3DSRStorage,
    EncapsulatedPDFStorage,
    GrayscaleSoftcopyPresentationStateStorage,
    KeyObjectSelectionDocumentStorage,
)
#: Transfer syntaxes offered for those: uncompressed first, then what our reader decodes.
GET_TRANSFER_SYNTAXES = (
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEGBaseline8Bit,
    JPEGLosslessSV1,
    JPEGLossless,
    JPEG2000Lossless,
    JPEG2000,
    RLELossless,
)


def _category(status: Dataset) -> str:
    return code_to_category(status.Status)


def make_ae(aet: str, timeout: float) -> AE:
    """An application entity with our AE title and the same timeout on every step."""
    ae = AE(ae_title=aet)
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = timeout
    ae.connection_timeout = timeout
    ae.maximum_pdu_size = 0  # no limit on what the peer may send us in one PDU
    return ae


def _associate(
    ae: AE, node: Node, timeout: float, tls: TlsOptions | None, evt_handlers=(), **kwargs
) -> Association:
    connected = threading.Event()  # TCP connection made: tells "refused" from "silent"
    handlers = [*evt_handlers, (evt.EVT_CONN_OPEN, lambda _event: connected.set())]
    context: ClientContext | None = tls.client_context() if tls is not None else None
    assoc = ae.associate(
        node.host,
        node.port,
        ae_title=node.aet,
        evt_handlers=handlers,
        tls_args=(context, node.host) if context is not None else None,
        **kwargs,
    )
    if assoc.is_established:
        return assoc
    if context is not None and context.failure is not None:
        raise NetworkError(f"TLS to {node} failed: {client_reason(context.failure, node.host)}")
    if assoc.is_rejected:
        raise NetworkError(
            f"{node} rejected the association: our AE title "
            f"{ae.ae_title!r} is not known to it or its AE title is not "
            f"{node.aet!r}; {node.what_to_check()}"
        )
    if connected.is_set():
        raise NetworkError(
            f"{node} accepted the connection but gave no answer within "
            f"{timeout:g} s (or aborted"
            + (
                "; a plain DICOM port does not answer TLS"
                if tls is not None
                else "; a TLS port does not answer plain DICOM: give --tls-ca"
            )
            + f"); {node.what_to_check()}"
        )
    raise NetworkError(
        f"cannot connect to {node} (refused, unreachable or no answer within "
        f"{timeout:g} s); {node.what_to_check()}"
    )


@contextlib.contextmanager
def association(
    ae: AE, node: Node, timeout: float, tls: TlsOptions | None = None, **kwargs
) -> Iterator[Association]:
    """An established association (TLS when `tls` is given), released (or aborted on error)
    afterwards."""
    assoc = _associate(ae, node, timeout, tls, **kwargs)
    try:
        yield assoc
    except BaseException:
        assoc.abort()
        raise
    else:
        if assoc.is_established:
            assoc.release()


def _no_answer(node: Node, what: str, timeout: float) -> NetworkError:
    return NetworkError(
        f"{node} did not answer the {what} within {timeout:g} s (or the "
        f"association was aborted); {node.what_to_check()}"
    )


def _failed(node: Node, what: str, status: Dataset) -> NetworkError:
    comment = str(status.get("ErrorComment", "")).strip()
    return NetworkError(
        f"{node} refused the {what} (status 0x{status.Status:04X}"
        + (f": {comment}" if comment else "")
        + f"); {node.what_to_check()}"
    )


def echo(node: Node, aet: str, timeout: float, tls: TlsOptions | None = None) -> None:
    """C-ECHO; NetworkError unless the node answers with success."""
    ae = make_ae(aet, timeout)
    ae.add_requested_context(Verification)
    with association(ae, node, timeout, tls) as assoc:
        status = assoc.send_c_echo()
        if not status:
            raise _no_answer(node, "C-ECHO", timeout)
        if _category(status) != STATUS_SUCCESS:
            raise _failed(node, "C-ECHO", status)


def find(
    node: Node, query: StudyQuery, aet: str, timeout: float, tls: TlsOptions | None = None
) -> FindResult:
    """C-FIND at study level; stops (aborting the query) once more than `limit` studies came."""
    ae = make_ae(aet, timeout)
    ae.add_requested_context(StudyRootQueryRetrieveInformationModelFind)
    studies: list[StudyMatch] = []
    with association(ae, node, timeout, tls) as assoc:
        for status, identifier in assoc.send_c_find(
            query_dataset(query), StudyRootQueryRetrieveInformationModelFind
        ):
            if not status:
                raise _no_answer(node, "C-FIND", timeout)
            if _category(status) != STATUS_PENDING:
                if _category(status) != STATUS_SUCCESS:
                    raise _failed(node, "C-FIND", status)
                break
            study = study_from_dataset(identifier) if identifier is not None else None
            if study is not None:
                studies.append(study)
            if len(studies) > query.limit:
                assoc.abort()  # enough: do not let the node stream thousands more
                break
    return FindResult.of(studies, query.limit)


class _Receiver:
    """What a retrieve received: the files saved (by the shared StoreHandler) and the
    refusals."""

    def __init__(
        self, out_dir: Path, on_file: Callable[[Path], None] | None, cancelled: Callable[[], bool]
    ) -> None:
        self.on_file = on_file
        self.cancelled = cancelled
        self.files: list[Path] = []
        self.errors: list[str] = []
        self.lock = threading.Lock()
        self.handler = StoreHandler(out_dir, self._stored, self.errors.append, cancelled)

    def _stored(self, path: Path, _ds: Dataset, _uids: tuple[str, str, str]) -> None:
        with self.lock:
            self.files.append(path)
        if self.on_file:
            self.on_file(path)


def _retrieve_identifier(study_uid: str) -> Dataset:
    ds = Dataset()
    ds.QueryRetrieveLevel = "STUDY"
    ds.StudyInstanceUID = study_uid
    return ds


def _check_retrieve(
    node: Node, what: str, responses: Iterable, receiver: _Receiver, timeout: float
) -> None:
    final = None
    for status, _ in responses:
        if not status:
            raise _no_answer(node, what, timeout)
        final = status
    if receiver.cancelled():
        raise CancelledError(
            f"{what} from {node} cancelled after {len(receiver.files)} instance(s)"
        )
    if receiver.errors:
        raise NetworkError(f"{what} from {node}: {receiver.errors[0]}")
    if final is not None and _category(final) not in (
        STATUS_SUCCESS,
        STATUS_WARNING,
        STATUS_PENDING,
    ):
        raise _failed(node, what, final)


def get_study(
    node: Node,
    study_uid: str,
    out_dir: Path,
    aet: str,
    timeout: float,
    on_file: Callable[[Path], None] | None = None,
    cancelled: Callable[[], bool] = lambda: False,
    tls: TlsOptions | None = None,
) -> list[Path]:
    """C-GET a study into OUT/STUDY/SERIES/SOP.dcm; the files written."""
    ae = make_ae(aet, timeout)
    ae.add_requested_context(StudyRootQueryRetrieveInformationModelGet)
    for sop_class in GET_STORAGE_CLASSES:
        ae.add_requested_context(sop_class, list(GET_TRANSFER_SYNTAXES))
    roles = [build_role(sop_class, scp_role=True) for sop_class in GET_STORAGE_CLASSES]
    receiver = _Receiver(out_dir, on_file, cancelled)
    with association(
        ae, node, timeout, tls, ext_neg=roles, evt_handlers=[(evt.EVT_C_STORE, receiver.handler)]
    ) as assoc:
        responses = assoc.send_c_get(
            _retrieve_identifier(study_uid), StudyRootQueryRetrieveInformationModelGet
        )
        _check_retrieve(node, "C-GET", responses, receiver, timeout)
    return receiver.files


def storage_scp_ae(aet: str, timeout: float) -> AE:
    """An AE that accepts every storage SOP class in every transfer syntax pydicom knows."""
    ae = make_ae(aet, timeout)
    for context in AllStoragePresentationContexts:
        ae.add_supported_context(context.abstract_syntax, ALL_TRANSFER_SYNTAXES)
    ae.add_supported_context(Verification)
    return ae


def move_study(
    node: Node,
    study_uid: str,
    out_dir: Path,
    aet: str,
    timeout: float,
    port: int,
    bind: str = "",
    on_file: Callable[[Path], None] | None = None,
    cancelled: Callable[[], bool] = lambda: False,
    tls: TlsOptions | None = None,
) -> list[Path]:
    """C-MOVE a study to our own temporary C-STORE receiver on `port` (the node must know our
    AE title at this address); the files written. With `tls` the receiver speaks TLS too, with
    our certificate (--tls-cert/--tls-key, which it then needs) and the same CA for the node's."""
    receiver = _Receiver(out_dir, on_file, cancelled)
    scp = storage_scp_ae(aet, timeout)
    server_context = None
    if tls is not None:
        if tls.cert is None:
            raise ValueError("a C-MOVE over TLS needs --tls-cert and --tls-key for our receiver")
        server_context = tls.server_context(
            timeout,
            lambda peer, why: receiver.errors.append(
                f"our receiver refused a TLS connection from {peer}: {why}"
            ),
        )
    try:
        server = start_storage_server(
            scp, (bind, port), [(evt.EVT_C_STORE, receiver.handler)], server_context
        )
    except OSError as exc:
        raise NetworkError(
            f"cannot receive on port {port} for the C-MOVE "
            f"({exc.strerror or exc}); choose another --port"
        ) from exc
    try:
        ae = make_ae(aet, timeout)
        ae.add_requested_context(StudyRootQueryRetrieveInformationModelMove)
        with association(ae, node, timeout, tls) as assoc:
            responses = assoc.send_c_move(
                _retrieve_identifier(study_uid), aet, StudyRootQueryRetrieveInformationModelMove
            )
            _check_retrieve(node, "C-MOVE", responses, receiver, timeout)
    finally:
        server.shutdown()
    return receiver.files


def store(
    node: Node, items: list[Path | Dataset], aet: str, timeout: float, tls: TlsOptions | None = None
) -> int:
    """C-STORE files or datasets; the number stored. NetworkError on the first refusal."""
    datasets = [dcmread(item) if isinstance(item, Path | str) else item for item in items]
    ae = make_ae(aet, timeout)
    contexts = set()
    for ds in datasets:
        meta = getattr(ds, "file_meta", None)
        if meta is None or "TransferSyntaxUID" not in meta:  # a dataset made in memory
            ds.file_meta = meta = FileMetaDataset(meta or {})
            meta.TransferSyntaxUID = ExplicitVRLittleEndian
        contexts.add((str(ds.SOPClassUID), str(meta.TransferSyntaxUID)))
    for sop_class, syntax in sorted(contexts):
        syntaxes = [syntax] + [
            s for s in (ExplicitVRLittleEndian, ImplicitVRLittleEndian) if s != syntax
        ]
        ae.add_requested_context(sop_class, syntaxes)
    with association(ae, node, timeout, tls) as assoc:
        for ds in datasets:
            status = assoc.send_c_store(ds)
            if not status:
                raise _no_answer(node, "C-STORE", timeout)
            if _category(status) not in (STATUS_SUCCESS, STATUS_WARNING):
                raise _failed(node, f"C-STORE of {ds.SOPInstanceUID}", status)
    return len(datasets)
