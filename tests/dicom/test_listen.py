"""`cxr listen` as a real process fed by DCMTK storescu and pynetdicom: scores what arrives,
forwards SR + SC to Orthanc, refuses what it must, stops on SIGTERM, loses nothing on kill."""

from __future__ import annotations

import copy
import csv
import os
import resource
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pydicom
import pytest
from helpers_orthanc import free_port, storescu, write_study
from pydicom.dataelem import RawDataElement
from pydicom.tag import Tag
from pynetdicom import AE

from cxr_model.cli.common import EXIT_BAD_INPUT
from cxr_model.dicom_net.dimse import storage_scp_ae
from cxr_model.dicom_net.instances import NOT_SCORED, PACS_FIELDS
from cxr_model.dicom_net.server import SharedUidContexts

ROOT = Path(__file__).resolve().parents[2]
LISTEN_AET = "CXRLISTEN"


class Listening:
    """A `cxr listen` process on 127.0.0.1, its log, and helpers to wait for it."""

    def __init__(self, model_dir: Path, out: Path, *extra: str, limit_bytes: int | None = None):
        self.out, self.port = out, free_port()
        self.log = out.parent / f"{out.name}-{self.port}.log"
        env = {**os.environ, "PYTHONPATH": str(ROOT)}

        def limit() -> None:  # a full disk: writes beyond this size fail with EFBIG
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))

        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "cxr_model.cli",
                    "--model",
                    str(model_dir),
                    "listen",
                    "--port",
                    str(self.port),
                    "--out",
                    str(out),
                    "--aet",
                    LISTEN_AET,
                    "--bind",
                    "127.0.0.1",
                    *extra,
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                preexec_fn=limit if limit_bytes else None,
            )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.text()
            if "listening as" in self.text():
                return
            time.sleep(0.2)
        raise AssertionError(f"the listener did not start: {self.text()}")

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def rows(self) -> list[dict]:
        path = self.out / "results.csv"
        if not path.is_file():
            return []
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            assert tuple(reader.fieldnames or PACS_FIELDS) == PACS_FIELDS
            return list(reader)

    def wait_rows(self, count: int, timeout: float = 120) -> list[dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            rows = self.rows()
            if len(rows) >= count:
                return rows
            assert self.process.poll() is None, self.text()
            time.sleep(0.2)
        raise AssertionError(f"{len(self.rows())} of {count} rows: {self.text()}")

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.process.poll() is None:
            os.kill(self.process.pid, sig)
        return self.process.wait(timeout=60)


@pytest.fixture
def listening(model_dir, tmp_path):
    """Start listeners in this test; each is stopped (by PID) at the end."""
    started: list[Listening] = []

    def start(*extra: str, out: Path | None = None, **kwargs) -> Listening:
        started.append(Listening(model_dir, out or tmp_path / "out", *extra, **kwargs))
        return started[-1]

    yield start
    for listener in started:
        listener.stop(signal.SIGKILL)


def pynetdicom_store(port: int, ds: pydicom.Dataset) -> int:
    """Send one dataset as it is (even a malformed one); the C-STORE status."""
    ae = AE("LOADER")
    ae.add_requested_context(ds.SOPClassUID, ds.file_meta.TransferSyntaxUID)
    assoc = ae.associate("127.0.0.1", port, ae_title=LISTEN_AET)
    assert assoc.is_established
    try:
        status = assoc.send_c_store(ds)
        return status.Status
    finally:
        assoc.release()


def test_scores_what_storescu_sends_and_forwards_results(
    listening, orthanc, dcmtk, xrays, model, tmp_path
):
    frontal = write_study(
        tmp_path / "a", xrays[0], "CXRT-LISTEN-A", views=(("CR", "PA"), ("CR", "LL"))
    )
    second = write_study(tmp_path / "b", xrays[3], "CXRT-LISTEN-B", views=(("DX", "AP"),))
    listener = listening("--allow", "LOADER,OTHER", "--forward", orthanc.dimse)
    assert "any DICOM node" not in listener.text()
    result = storescu(listener.port, frontal + second, called=LISTEN_AET)
    assert result.returncode == 0, result.stderr
    rows = {r["sop_uid"]: r for r in listener.wait_rows(3)}
    for path in frontal + second:
        ds = pydicom.dcmread(path)
        row = rows[ds.SOPInstanceUID]
        saved = listener.out / row["file"]
        assert (
            saved
            == listener.out
            / ds.StudyInstanceUID
            / ds.SeriesInstanceUID
            / f"{ds.SOPInstanceUID}.dcm"
        )
        assert pydicom.dcmread(saved).PixelData == ds.PixelData
        if ds.ViewPosition == "LL":
            assert row["error"].startswith(NOT_SCORED) and row["probability"] == ""
        else:
            assert row["error"] == ""
            assert float(row["probability"]) == pytest.approx(
                model.predict(path).probability, abs=1e-5
            )
            assert row["model"] == model.card.label  # the model that answered
    assert listener.stop() == 0
    assert "stopped: 3 instance(s) received, 2 scored, 3 row(s) written" in listener.text()
    for study in (frontal, second):  # the SR + SC of each scored image, in its study
        uid = pydicom.dcmread(study[0]).StudyInstanceUID
        assert orthanc.series_modalities(uid) == ["OT", "SR"]


def test_unknown_calling_ae_is_rejected_and_logged(listening, dcmtk, xray, tmp_path):
    files = write_study(tmp_path / "s", xray, "CXRT-LISTEN-REJ")
    listener = listening("--allow", "LOADER")
    result = storescu(listener.port, files, aet="INTRUDER", called=LISTEN_AET)
    assert result.returncode != 0
    assert "rejected an association from 'INTRUDER'" in listener.text()
    assert listener.rows() == [] and not list(listener.out.rglob("*.dcm"))


def test_without_allow_a_warning_says_anyone_may_send(listening):
    listener = listening()
    assert "any DICOM node that reaches this port may send here" in listener.text()


@pytest.mark.filterwarnings("ignore:Invalid value for VR UI")
def test_crafted_uids_and_malformed_datasets_are_refused_or_reported(listening, xray, tmp_path):
    listener = listening()
    escape = pydicom.dcmread(write_study(tmp_path / "e", xray, "CXRT-ESCAPE")[0])
    escape.StudyInstanceUID = "../../../escaped"
    assert pynetdicom_store(listener.port, escape) == 0xC000
    dotted = pydicom.dcmread(write_study(tmp_path / "d", xray, "CXRT-DOTS")[0])
    dotted.SeriesInstanceUID = ".."
    assert pynetdicom_store(listener.port, dotted) == 0xC000
    assert not list(tmp_path.rglob("escaped*")) and not list(tmp_path.parent.rglob("escaped"))
    # saved (its UIDs are sound) but its pixels are cut short / an element does not decode
    truncated = pydicom.dcmread(write_study(tmp_path / "t", xray, "CXRT-TRUNCATED")[0])
    truncated.PixelData = truncated.PixelData[:1000]
    broken = pydicom.dcmread(write_study(tmp_path / "b", xray, "CXRT-BROKEN")[0])
    broken[Tag(0x0028, 0x0010)] = RawDataElement(
        Tag(0x0028, 0x0010), "US", 3, b"\x01\x02\x03", 0, False, True
    )
    for ds in (truncated, broken):
        assert pynetdicom_store(listener.port, ds) == 0x0000
    good = write_study(tmp_path / "g", xray, "CXRT-AFTER")[0]
    assert pynetdicom_store(listener.port, pydicom.dcmread(good)) == 0x0000
    rows = {r["sop_uid"]: r for r in listener.wait_rows(3)}
    assert (
        rows[truncated.SOPInstanceUID]["error"]
        and not rows[truncated.SOPInstanceUID]["probability"]
    )
    assert rows[broken.SOPInstanceUID]["error"]
    assert rows[pydicom.dcmread(good).SOPInstanceUID]["error"] == ""  # still working
    assert listener.text().count("refused an instance") == 2
    assert listener.stop() == 0


def test_killed_mid_study_loses_nothing(listening, dcmtk, xrays, tmp_path):
    files = write_study(
        tmp_path / "s", xrays[1], "CXRT-KILLED", views=(("CR", "PA"), ("CR", "AP"), ("DX", "PA"))
    )
    out = tmp_path / "out"
    first = listening(out=out)
    assert storescu(first.port, files[:2], called=LISTEN_AET).returncode == 0
    first.stop(signal.SIGKILL)  # whether or not it had scored them
    assert len(list(out.rglob("*.dcm"))) == 2
    second = listening(out=out)
    assert storescu(second.port, files[2:], called=LISTEN_AET).returncode == 0
    rows = second.wait_rows(3)
    assert second.stop() == 0
    rows = second.rows()
    sops = [r["sop_uid"] for r in rows if r["error"] == ""]
    assert sorted(sops) == sorted(pydicom.dcmread(f).SOPInstanceUID for f in files)
    assert not list(out.rglob(".partial-*"))


def test_a_full_disk_refuses_the_instance_and_the_listener_goes_on(listening, xray, tmp_path):
    big = write_study(tmp_path / "big", xray, "CXRT-FULL")[0]
    small = write_study(tmp_path / "small", xray[:48, :48], "CXRT-SMALL")[0]
    listener = listening(limit_bytes=64 * 1024)
    assert big.stat().st_size > 64 * 1024 > small.stat().st_size
    assert pynetdicom_store(listener.port, pydicom.dcmread(big)) == 0xA700
    assert "check the free space" in listener.text()
    assert pynetdicom_store(listener.port, pydicom.dcmread(small)) == 0x0000
    [row] = listener.wait_rows(1)
    assert row["sop_uid"] == pydicom.dcmread(small).SOPInstanceUID


def test_an_unwritable_output_folder_is_bad_input(model_dir, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "cxr_model.cli",
            "--model",
            str(model_dir),
            "listen",
            "--port",
            str(free_port()),
            "--out",
            str(blocker / "out"),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=120,
    )
    assert result.returncode == EXIT_BAD_INPUT
    assert "cannot write to the output folder" in result.stderr


def test_a_port_in_use_is_a_network_error(model_dir, tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "cxr_model.cli",
                "--model",
                str(model_dir),
                "listen",
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--out",
                str(tmp_path),
            ],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            timeout=120,
        )
    assert result.returncode == 4
    assert f"cannot listen on port {port}" in result.stderr


def test_forward_by_dicomweb_and_to_a_node_that_is_down(listening, orthanc, dcmtk, xray, tmp_path):
    [web_image] = write_study(tmp_path / "w", xray, "CXRT-LISTEN-WEB")
    listener = listening("--forward", orthanc.web, out=tmp_path / "web")
    assert storescu(listener.port, [web_image], called=LISTEN_AET).returncode == 0
    [row] = listener.wait_rows(1)
    assert row["error"] == "" and row["probability"]
    assert listener.stop() == 0
    uid = pydicom.dcmread(web_image).StudyInstanceUID
    assert orthanc.series_modalities(uid) == ["OT", "SR"]

    down = f"DOWN@127.0.0.1:{free_port()}"
    [image] = write_study(tmp_path / "d", xray, "CXRT-LISTEN-DOWN")
    listener = listening("--forward", down, "--timeout", "2", out=tmp_path / "down")
    assert storescu(listener.port, [image], called=LISTEN_AET).returncode == 0
    [row] = listener.wait_rows(1)
    assert row["probability"]  # scored all the same
    assert row["error"].startswith("scored, but forwarding the results failed")
    assert down in row["error"]
    assert listener.process.poll() is None  # and still listening


def test_each_association_gets_contexts_of_its_own_sharing_the_uids():
    ae = storage_scp_ae("CXRLISTEN", 5)
    contexts = SharedUidContexts(ae.supported_contexts)
    copied = copy.deepcopy(contexts)
    assert [(c.abstract_syntax, c.transfer_syntax) for c in copied] == [
        (c.abstract_syntax, c.transfer_syntax) for c in contexts
    ]
    assert copied[0] is not contexts[0]
    assert copied[0].transfer_syntax[0] is contexts[0].transfer_syntax[0]  # shared, immutable
    copied[0].context_id = 7
    del copied[0].transfer_syntax[1:]  # the getter hands out the list itself
    assert contexts[0].context_id is None and len(contexts[0].transfer_syntax) > 1


def test_a_row_whose_audit_line_a_kill_cut_off_is_audited_at_the_next_start(model, tmp_path):
    from cxr_model.dicom_net.instances import instance_row
    from cxr_model.inference.scan import CsvSink
    from cxr_model.pacs.listener import Listener

    out = tmp_path / "out"
    out.mkdir()
    sink = CsvSink(out / "results.csv", fields=PACS_FIELDS)
    sink.add(instance_row("1.2/1.2.3/1.2.3.4.dcm", ("1.2", "1.2.3", "1.2.3.4"), None, None))
    sink.add(instance_row("1.2/1.2.3/1.2.3.5.dcm", ("1.2", "1.2.3", "1.2.3.5"), None, "no disk"))
    sink.close()
    for _ in range(2):  # the second start finds nothing to recover
        listener = Listener(model, out, free_port(), aet=LISTEN_AET)
        for part in (listener.sink, listener.worklist, listener.audit):
            part.close()
    lines = (out / "audit.log").read_text().splitlines()
    assert len(lines) == 1  # the row that failed is not final: it is scored again, then audited
    assert lines[0].split()[1:] == ["result", "sop=1.2.3.4", "written=scored", "recovered=yes"]
