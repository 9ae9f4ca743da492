"""DIMSE (pynetdicom): C-ECHO, C-FIND, C-GET, C-MOVE with our own C-STORE receiver, C-STORE."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from pydicom import dcmread
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian
from pynetdicom import AE, ALL_TRANSFER_SYNTAXES, AllStoragePresentationContexts, build_role, evt
from pynetdicom.association import Association
from pynetdicom.sop_class import (
    StudyRootQueryRetrieveInformationModelFind,
    StudyRootQueryRetrieveInformationModelGet,
    StudyRootQueryRetrieveInformationModelMove,
    Verification,
)

from cxr_model.dicom_net.node import Node
from cxr_model.dicom_net.query import (
    FindResult,
    StudyMatch,
    StudyQuery,
    query_dataset,
    study_from_dataset,
)
from cxr_model.dicom_net.storage import save_dataset
from cxr_model.errors import CancelledError, InvalidInstanceError, NetworkError

log = logging.getLogger(__name__)

#: Storage SOP classes asked for in a C-GET (at most 128 contexts fit one association).
GET_STORAGE_CLASSES = (
    "1.2.840.10008.5.1.4.1.1.1",  # Computed Radiography Image
    "1.2.840.10008.5.1.4.1.1.1.1",  # Digital X-Ray Image - For Presentation
    "1.2.840.10008.5.1.4.1.1.1.1.1",  # Digital X-Ray Image - For Processing
    "1.2.840.10008.5.1.4.1.1.7",  # Secondary Capture Image
    "1.2.840.10008.5.1.4.1.1.88.11",  # Basic Text SR
    "1.2.840.10008.5.1.4.1.1.88.22",  # Enhanced SR
    "1.2.840.10008.5.1.4.1.1.88.33",  # Comprehensive SR
    "1.2.840.10008.5.1.4.1.1.88.34",  # Comprehensive 3D SR
    "1.2.840.10008.5.1.4.1.1.104.1",  # Encapsulated PDF
    "1.2.840.10008.5.1.4.1.1.11.1",  # Grayscale Softcopy Presentation State
    "1.2.840.10008.5.1.4.1.1.88.59",  # Key Object Selection
)
#: Transfer syntaxes offered for those: uncompressed first, then what our reader decodes.
GET_TRANSFER_SYNTAXES = (
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    "1.2.840.10008.1.2.4.50",
    "1.2.840.10008.1.2.4.70",
    "1.2.840.10008.1.2.4.57",
    "1.2.840.10008.1.2.4.90",
    "1.2.840.10008.1.2.4.91",
    "1.2.840.10008.1.2.5",
)
_PENDING = (0xFF00, 0xFF01)
_STORE_OUT_OF_RESOURCES = 0xA700
_STORE_CANNOT_UNDERSTAND = 0xC000

for _name in ("pynetdicom", "pynetdicom.assoc", "pynetdicom.acse", "pynetdicom.events"):
    logging.getLogger(_name).setLevel(logging.CRITICAL)  # we report failures ourselves


def make_ae(aet: str, timeout: float) -> AE:
    """An application entity with our AE title and the same timeout on every step."""
    ae = AE(ae_title=aet)
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = timeout
    ae.connection_timeout = timeout
    ae.maximum_pdu_size = 0  # no limit on what the peer may send us in one PDU
    return ae


def _associate(ae: AE, node: Node, timeout: float, evt_handlers=(), **kwargs) -> Association:
    connected = threading.Event()  # TCP connection made: tells "refused" from "silent"
    handlers = [*evt_handlers, (evt.EVT_CONN_OPEN, lambda _event: connected.set())]
    assoc = ae.associate(node.host, node.port, ae_title=node.aet, evt_handlers=handlers, **kwargs)
    if assoc.is_established:
        return assoc
    if assoc.is_rejected:
        raise NetworkError(
            f"{node} rejected the association: our AE title "
            f"{ae.ae_title!r} is not known to it or its AE title is not "
            f"{node.aet!r}; {node.what_to_check()}"
        )
    if connected.is_set():
        raise NetworkError(
            f"{node} accepted the connection but gave no answer within "
            f"{timeout:g} s (or aborted); {node.what_to_check()}"
        )
    raise NetworkError(
        f"cannot connect to {node} (refused, unreachable or no answer within "
        f"{timeout:g} s); {node.what_to_check()}"
    )


@contextlib.contextmanager
def association(ae: AE, node: Node, timeout: float, **kwargs) -> Iterator[Association]:
    """An established association, released (or aborted on error) afterwards."""
    assoc = _associate(ae, node, timeout, **kwargs)
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


def echo(node: Node, aet: str, timeout: float) -> None:
    """C-ECHO; NetworkError unless the node answers with success."""
    ae = make_ae(aet, timeout)
    ae.add_requested_context(Verification)
    with association(ae, node, timeout) as assoc:
        status = assoc.send_c_echo()
        if not status:
            raise _no_answer(node, "C-ECHO", timeout)
        if status.Status != 0x0000:
            raise _failed(node, "C-ECHO", status)


def find(node: Node, query: StudyQuery, aet: str, timeout: float) -> FindResult:
    """C-FIND at study level; stops (aborting the query) once more than `limit` studies came."""
    ae = make_ae(aet, timeout)
    ae.add_requested_context(StudyRootQueryRetrieveInformationModelFind)
    studies: list[StudyMatch] = []
    with association(ae, node, timeout) as assoc:
        for status, identifier in assoc.send_c_find(
            query_dataset(query), StudyRootQueryRetrieveInformationModelFind
        ):
            if not status:
                raise _no_answer(node, "C-FIND", timeout)
            if status.Status not in _PENDING:
                if status.Status != 0x0000:
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
    """The C-STORE handler of a retrieve: saves each instance under OUT by its UIDs."""

    def __init__(
        self, out_dir: Path, on_file: Callable[[Path], None] | None, cancelled: Callable[[], bool]
    ) -> None:
        self.out_dir = Path(out_dir)
        self.on_file = on_file
        self.cancelled = cancelled
        self.files: list[Path] = []
        self.errors: list[str] = []
        self.lock = threading.Lock()

    def __call__(self, event) -> int:
        if self.cancelled():  # refuse the rest: the node ends the retrieve quickly
            return _STORE_OUT_OF_RESOURCES
        try:
            ds = event.dataset
            path = save_dataset(self.out_dir, ds, event.encoded_dataset())
        except InvalidInstanceError as exc:
            self.errors.append(f"instance refused: {exc}")
            return _STORE_CANNOT_UNDERSTAND
        except OSError as exc:
            self.errors.append(f"cannot write to {self.out_dir} ({exc.strerror or exc})")
            return _STORE_OUT_OF_RESOURCES
        except Exception as exc:  # a dataset that does not decode
            self.errors.append(f"instance refused: cannot decode it ({exc})")
            return _STORE_CANNOT_UNDERSTAND
        with self.lock:
            self.files.append(path)
        if self.on_file:
            self.on_file(path)
        return 0x0000


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
    if final is not None and final.Status not in (0x0000, 0xB000, *_PENDING):
        raise _failed(node, what, final)


def get_study(
    node: Node,
    study_uid: str,
    out_dir: Path,
    aet: str,
    timeout: float,
    on_file: Callable[[Path], None] | None = None,
    cancelled: Callable[[], bool] = lambda: False,
) -> list[Path]:
    """C-GET a study into OUT/STUDY/SERIES/SOP.dcm; the files written."""
    ae = make_ae(aet, timeout)
    ae.add_requested_context(StudyRootQueryRetrieveInformationModelGet)
    for sop_class in GET_STORAGE_CLASSES:
        ae.add_requested_context(sop_class, list(GET_TRANSFER_SYNTAXES))
    roles = [build_role(sop_class, scp_role=True) for sop_class in GET_STORAGE_CLASSES]
    receiver = _Receiver(out_dir, on_file, cancelled)
    with association(
        ae, node, timeout, ext_neg=roles, evt_handlers=[(evt.EVT_C_STORE, receiver)]
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
) -> list[Path]:
    """C-MOVE a study to our own temporary C-STORE receiver on `port` (the node must know our
    AE title at this address); the files written."""
    receiver = _Receiver(out_dir, on_file, cancelled)
    scp = storage_scp_ae(aet, timeout)
    try:
        server = scp.start_server(
            (bind, port), block=False, evt_handlers=[(evt.EVT_C_STORE, receiver)]
        )
    except OSError as exc:
        raise NetworkError(
            f"cannot receive on port {port} for the C-MOVE "
            f"({exc.strerror or exc}); choose another --port"
        ) from exc
    try:
        ae = make_ae(aet, timeout)
        ae.add_requested_context(StudyRootQueryRetrieveInformationModelMove)
        with association(ae, node, timeout) as assoc:
            responses = assoc.send_c_move(
                _retrieve_identifier(study_uid), aet, StudyRootQueryRetrieveInformationModelMove
            )
            _check_retrieve(node, "C-MOVE", responses, receiver, timeout)
    finally:
        server.shutdown()
    return receiver.files


def store(node: Node, items: list[Path | Dataset], aet: str, timeout: float) -> int:
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
    with association(ae, node, timeout) as assoc:
        for ds in datasets:
            status = assoc.send_c_store(ds)
            if not status:
                raise _no_answer(node, "C-STORE", timeout)
            if status.Status not in (0x0000, 0xB000, 0xB007, 0xB006):
                raise _failed(node, f"C-STORE of {ds.SOPInstanceUID}", status)
    return len(datasets)
