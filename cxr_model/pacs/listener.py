"""`cxr listen`: a C-STORE receiver that saves each instance under its validated UIDs,
scores the chest X-rays as they arrive and appends a row per instance to OUT/results.csv.

Instances are written atomically and rows flushed at once, so a kill loses nothing already
written; on the next start, saved instances without a final row are scored first. With
`TlsOptions` it listens over TLS; every association and instance goes to OUT/audit.log.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pydicom import dcmread
from pydicom.dataset import Dataset
from pynetdicom import evt

from cxr_model.dicom_files import instance_path, instance_uids
from cxr_model.dicom_net.client import Pacs
from cxr_model.dicom_net.dimse import storage_scp_ae
from cxr_model.dicom_net.instances import (
    PACS_FIELDS,
    instance_row,
    is_final,
    not_scored_reason,
)
from cxr_model.dicom_net.node import DEFAULT_TIMEOUT
from cxr_model.dicom_net.server import start_storage_server
from cxr_model.dicom_net.store_scp import StoreHandler
from cxr_model.dicom_net.tls import TlsOptions
from cxr_model.errors import CXRError
from cxr_model.files import private_file
from cxr_model.imaging.dicom_meta import header_values
from cxr_model.imaging.reader import XrayImage, read_dataset
from cxr_model.inference.predictor import Prepared
from cxr_model.inference.scan import CsvSink, Scorer, read_rows
from cxr_model.pacs.audit import AUDIT_NAME, AuditLog, audited_results
from cxr_model.worklist.store import RESULTS_NAME, Worklist

BATCH_SIZE = 8
#: Instances decoded at once (on the associations' threads): one per core, so a burst of
#: senders neither thrashes the interpreter lock (a C-ECHO still gets its turn) nor holds
#: more decoded images in memory than the scorer can take.
DECODERS = max(1, os.cpu_count() or 1)


@dataclass
class _Arrival:
    """One saved instance on its way to the scorer."""

    path: Path
    uids: tuple[str, str, str]
    prepared: Prepared | None = None
    image: XrayImage | None = None  # kept only to forward the Secondary Capture
    source: Dataset | None = None
    error: str | None = None
    meta: dict[str, str] = field(default_factory=dict)  # header values for the worklist


class Listener:
    """A C-STORE SCP on `port` that scores what arrives. Thread-safe start/stop.

    `allow`: calling AE titles accepted (None: anyone). `forward`: where the SR + SC of each
    scored image go. `tls`: listen over TLS (its CA, when given, requires client
    certificates). `log` receives one human-readable line per event.
    """

    def __init__(
        self,
        model: Scorer,
        out_dir: Path,
        port: int,
        *,
        aet: str,
        allow: list[str] | None = None,
        forward: Pacs | None = None,
        bind: str = "",
        timeout: float = DEFAULT_TIMEOUT,
        tls: TlsOptions | None = None,
        log: Callable[[str], None] = lambda line: None,
    ) -> None:
        self.model = model
        self.out_dir = Path(out_dir)
        self.port, self.bind, self.aet = port, bind, aet
        self.allow = allow
        self.forward = forward
        self.timeout = timeout
        self.tls = tls
        self.log = log
        self.csv_path = self.out_dir / RESULTS_NAME
        finals = [row for row in read_rows(self.csv_path, PACS_FIELDS) if is_final(row)]
        self.final = {row["sop_uid"] for row in finals}
        self.sink = CsvSink(private_file(self.csv_path), fields=PACS_FIELDS)
        self.audit = AuditLog(self.out_dir / AUDIT_NAME)
        self._audit_cut_off(finals)
        self._store = StoreHandler(self.out_dir, self._stored, self._refused_instance)
        self._context = tls.server_context(timeout, self._on_tls_refused) if tls else None
        self.worklist = Worklist(self.out_dir, create=True)
        self.queue: queue.Queue[_Arrival | None] = queue.Queue(maxsize=64)
        self.counts = {"received": 0, "scored": 0, "rows": 0}
        self._pending: set[str] = set()  # SOP instances queued, not yet in a row
        self._decoding = threading.BoundedSemaphore(DECODERS)
        self._received_lock = threading.Lock()  # associations run on threads of their own
        self._server = None
        self._scorer = threading.Thread(
            target=self._score_loop, name="cxr-listen-scorer", daemon=True
        )

    def _audit_cut_off(self, finals: list[dict]) -> None:
        """A row is written before its audit line: the `result` lines that a kill between the
        two cut off are written now, marked recovered, so the two records agree again."""
        audited = audited_results(self.audit.path)
        for row in finals:
            if row["sop_uid"] not in audited:
                written = "not-scored" if row["error"] else "scored"
                self.audit.write("result", sop=row["sop_uid"], written=written, recovered="yes")

    # ------------------------------------------------------------------ receiving
    def _prepare(self, path: Path, ds: Dataset, uids: tuple[str, str, str]) -> _Arrival:
        """Decode and preprocess a saved instance (runs on the association's thread)."""
        arrival = _Arrival(path, uids, meta=header_values(ds))
        reason = not_scored_reason(ds)
        if reason:
            arrival.error = reason
            return arrival
        try:
            image = read_dataset(ds, str(path))  # what was received, not read back from disk
            arrival.prepared = self.model.prepare(image)
        except CXRError as exc:
            arrival.error = str(exc)
            return arrival
        if self.forward is not None:
            arrival.image, arrival.source = image, ds
        return arrival

    def _stored(self, path: Path, ds: Dataset, uids: tuple[str, str, str]) -> None:
        """A saved instance: scored unless the same SOP instance has its final row already or
        waits to be scored (a sender that resends what it did not see acknowledged)."""
        name = path.relative_to(self.out_dir).as_posix()
        with self._received_lock:
            self.counts["received"] += 1
            again = uids[2] in self.final or uids[2] in self._pending
            self._pending.add(uids[2])
        if again:
            self.audit.write("stored", sop=uids[2], file=name, again="yes")
            return
        self.audit.write("stored", sop=uids[2], file=name)
        with self._decoding:
            arrival = self._prepare(path, ds, uids)
        self.queue.put(arrival)

    def _refused_instance(self, line: str) -> None:
        self.log(line)
        self.audit.write("instance-refused", reason=line)

    def _peer(self, event) -> dict[str, object]:
        requestor = event.assoc.requestor
        return {
            "peer": f"{requestor.address}:{requestor.port}",
            "calling": requestor.ae_title,
            "called": event.assoc.acceptor.ae_title,
            "tls": "yes" if self.tls is not None else "no",
        }

    def _on_accepted(self, event) -> None:
        self.audit.write("association-accepted", **self._peer(event))

    def _on_rejected(self, event) -> None:
        requestor = event.assoc.requestor
        self.log(
            f"rejected an association from {requestor.ae_title!r} at "
            f"{requestor.address}: not in the --allow list"
        )
        self.audit.write(
            "association-refused", **self._peer(event), reason="calling AE title not allowed"
        )

    def _on_tls_refused(self, peer: str, reason: str) -> None:
        self.log(f"refused a connection from {peer}: {reason}")
        self.audit.write("connection-refused", peer=peer, tls="yes", reason=reason)

    # ------------------------------------------------------------------ scoring
    def _row(self, arrival: _Arrival, prediction=None, error=None) -> None:
        name = arrival.path.relative_to(self.out_dir).as_posix()
        row = instance_row(name, arrival.uids, prediction, error)
        self.sink.add(row)
        self.counts["rows"] += 1
        try:
            answered = self.model.card_for(prediction).name if prediction is not None else ""
            self.worklist.record(name, arrival.uids, arrival.meta, answered, prediction, error)
        except CXRError as exc:
            self.log(f"{name}: not in the worklist ({exc})")
        if is_final(row):
            self.final.add(arrival.uids[2])
        with self._received_lock:
            self._pending.discard(arrival.uids[2])
        outcome = "scored" if prediction is not None else "not-scored" if is_final(row) else "error"
        self.audit.write("result", sop=arrival.uids[2], written=outcome)
        if error:
            self.log(f"{name}: {error}")

    def _send_results(self, arrival: _Arrival, prediction) -> str | None:
        from cxr_model.dicom_results.write import result_objects

        try:
            self.forward.send(
                result_objects(
                    self.model.card_for(prediction), arrival.source, arrival.image, prediction
                )
            )
        except CXRError as exc:
            return f"scored, but forwarding the results failed: {exc}"
        return None

    def _score(self, batch: list[_Arrival]) -> None:
        ready = [a for a in batch if a.prepared is not None]
        predictions = {}
        if ready:
            try:
                results = self.model.predict_batch([a.prepared for a in ready], [None] * len(ready))
                predictions = {id(a): p for a, p in zip(ready, results, strict=True)}
            except Exception as exc:  # the model failing must not stop the listener
                for arrival in ready:
                    arrival.error = f"scoring failed ({exc})"
        for arrival in batch:
            prediction = predictions.get(id(arrival))
            error = arrival.error
            if prediction is not None:
                self.counts["scored"] += 1
                if self.forward is not None:
                    error = self._send_results(arrival, prediction)
            self._row(arrival, prediction, error)
            arrival.image = arrival.source = arrival.prepared = None

    def _score_loop(self) -> None:
        stop = False
        while not stop:
            batch = []
            item = self.queue.get()
            while item is not None:
                batch.append(item)
                if len(batch) >= BATCH_SIZE:
                    break
                try:
                    item = self.queue.get_nowait()
                except queue.Empty:
                    break
            stop = item is None
            if batch:
                try:
                    self._score(batch)
                except OSError as exc:
                    self.log(f"cannot append to {self.csv_path} ({exc.strerror or exc})")

    def _resume(self) -> int:
        """Queue the instances saved earlier that have no final row yet."""
        count = 0
        for path in sorted(self.out_dir.glob("*/*/*.dcm")):
            uids = (path.parent.parent.name, path.parent.name, path.stem)
            if uids[2] in self.final or instance_path(self.out_dir, uids) != path:
                continue
            with self._received_lock:
                self._pending.add(uids[2])
            try:
                ds = dcmread(path)
                self.queue.put(self._prepare(path, ds, instance_uids(ds)))
            except Exception as exc:
                self.queue.put(
                    _Arrival(path, uids, error=f"cannot read the saved instance ({exc})")
                )
            count += 1
        return count

    # ------------------------------------------------------------------ life cycle
    def start(self) -> None:
        """Score what an earlier run left, then listen (returns once the port is bound)."""
        self._scorer.start()
        pending = self._resume()
        if pending:
            self.log(f"scoring {pending} instance(s) saved before the last stop")
        ae = storage_scp_ae(self.aet, self.timeout)
        ae.maximum_associations = 16
        if self.allow:
            ae.require_calling_aet = list(self.allow)
        handlers = [
            (evt.EVT_C_STORE, self._store),
            (evt.EVT_ACCEPTED, self._on_accepted),
            (evt.EVT_REJECTED, self._on_rejected),
        ]
        try:
            self._server = start_storage_server(ae, (self.bind, self.port), handlers, self._context)
        except OSError as exc:
            self.queue.put(None)
            self._scorer.join()
            self.sink.close()
            self.worklist.close()
            self.audit.close()
            raise CXRError(
                f"cannot listen on port {self.port} ({exc.strerror or exc}); choose another --port"
            ) from exc

    def stop(self) -> None:
        """Stop accepting, score everything received, close the CSV."""
        if self._server is not None:
            self._server.shutdown()
            self._server = None
        self.queue.put(None)
        self._scorer.join()
        self.sink.close()
        self.worklist.close()
        self.audit.close()
