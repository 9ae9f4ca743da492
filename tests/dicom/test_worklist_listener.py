"""The worklist a listener keeps (worklist.sqlite beside results.csv), fed by DCMTK storescu:
one row per study in triage order, a study received again stays one row, readers while the
listener writes, and `cxr worklist DIR [--json]` printing the same list."""

from __future__ import annotations

import csv
import json
import threading
from pathlib import Path

import pytest
from helpers_orthanc import free_port, storescu, write_study

from cxr_model.cli import main
from cxr_model.errors import StoreError
from cxr_model.feedback.store import FeedbackStore, make_verdict
from cxr_model.pacs.listener import RESULTS_NAME, Listener
from cxr_model.worklist.store import WORKLIST_NAME, Worklist, read_worklist

AET = "CXRWORKLIST"
RANK = {"abnormal": 0, "uncertain": 1, "normal": 2, "none": 3}


@pytest.fixture
def listener(model, tmp_path):
    (tmp_path / "in").mkdir()
    started = Listener(model, tmp_path / "in", free_port(), aet=AET, bind="127.0.0.1")
    started.start()
    yield started
    started.stop()


def wait_for(condition, timeout: float = 120.0) -> None:
    done = threading.Event()
    for _ in range(int(timeout * 10)):
        if condition():
            return
        done.wait(0.1)
    raise AssertionError("timed out")


def csv_rows(folder: Path) -> dict[str, dict]:
    with open(folder / RESULTS_NAME, newline="", encoding="utf-8") as fh:
        return {row["sop_uid"]: row for row in csv.DictReader(fh)}


def test_listener_keeps_a_triage_worklist(listener, dcmtk, xrays, tmp_path, capsys):
    pa_ll, ap, ll, pa = (
        (("CR", "PA"), ("CR", "LL")),
        (("DX", "AP"),),
        (("CR", "LL"),),
        (("CR", "PA"),),
    )
    studies = {
        "two views": write_study(tmp_path / "a", xrays[0], "CXRT-WL-A", pa_ll),
        "adult": write_study(tmp_path / "b", xrays[1], "CXRT-WL-B", ap, PatientAge="045Y"),
        "lateral": write_study(tmp_path / "c", xrays[2], "CXRT-WL-C", ll),
        "second": write_study(tmp_path / "d", xrays[3], "CXRT-WL-D", ap),
        "third": write_study(tmp_path / "e", xrays[2], "CXRT-WL-E", pa),
    }
    files = [path for paths in studies.values() for path in paths]
    errors: list[Exception] = []
    sending = threading.Event()

    def read_while_writing() -> None:  # a second reader while the listener writes
        while not sending.is_set():
            try:
                if (listener.out_dir / WORKLIST_NAME).is_file():
                    read_worklist(listener.out_dir)
            except StoreError as exc:
                errors.append(exc)

    reader = threading.Thread(target=read_while_writing)
    reader.start()
    try:
        result = storescu(listener.port, files, called=AET)
        assert result.returncode == 0, result.stderr
        wait_for(lambda: listener.counts["rows"] == len(files))
    finally:
        sending.set()
        reader.join()
    assert errors == []
    rows = read_worklist(listener.out_dir)
    assert len(rows) == len(studies)
    by_patient = {row.patient: row for row in rows}
    scored = csv_rows(listener.out_dir)
    for row in rows:
        instance = scored[row.sop_uid]
        expected = float(instance["probability"]) if instance["probability"] else None
        assert row.probability == pytest.approx(expected, abs=1e-6)
        assert (listener.out_dir / row.image).is_file()
    keys = [(RANK[r.reading], r.probability is None, -(r.probability or 0)) for r in rows]
    assert keys == sorted(keys)  # abnormal by descending P, uncertain, normal, no label
    two = by_patient["Test CXRT-WL-A"]
    assert two.images == 2 and two.view == "PA" and two.accession == "AT-WL-A"
    assert two.age_sex == "4 y F" and two.model == listener.model.card.name
    adult = by_patient["Test CXRT-WL-B"]
    assert adult.reading == "none" and "age range (45 years)" in adult.reason
    lateral = by_patient["Test CXRT-WL-C"]
    assert lateral.reading == "none" and lateral.reason.startswith("not scored: ")
    assert lateral.probability is None and rows[-1] == lateral

    # the same study again: stored, not scored twice, still one row, its image count unchanged
    result = storescu(listener.port, studies["two views"], called=AET)
    assert result.returncode == 0, result.stderr
    wait_for(lambda: listener.counts["received"] == len(files) + 2)
    assert listener.counts["rows"] == len(files)
    again = read_worklist(listener.out_dir)
    assert len(again) == len(studies)
    assert next(r for r in again if r.study_uid == two.study_uid).images == 2

    # `cxr worklist`: the same list, with the verdict given on a study
    db = tmp_path / "verdicts.sqlite"
    store = FeedbackStore(db)
    image = listener.out_dir / two.image
    meta = {"SOPInstanceUID": two.sop_uid, "StudyInstanceUID": two.study_uid}
    store.add(make_verdict(image, "abnormal", meta, listener.model.card, None))
    store.close()
    assert main(["worklist", str(listener.out_dir), "--json", "--db", str(db)]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [item["study_uid"] for item in listed] == [r.study_uid for r in again]
    verdicts = {item["study_uid"]: item["verdict"] for item in listed}
    assert verdicts[two.study_uid]["truth"] == "abnormal"
    assert sum(v is not None for v in verdicts.values()) == 1
    assert Path(listed[0]["path"]).is_file()
    assert main(["worklist", str(listener.out_dir), "--db", str(db)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:3] == ["received", "patient", "age/sex"]
    patients = [r.patient for r in again]
    assert [next(p for p in patients if p in line) for line in lines[1:]] == patients
    assert "abnormal" in next(line for line in lines if two.patient in line).split("  ")[-1]


def test_worklist_of_a_folder_without_one_is_a_clear_error(tmp_path, capsys):
    assert main(["worklist", str(tmp_path)]) == 2
    assert f"{tmp_path / WORKLIST_NAME}: no such database" in capsys.readouterr().err
    (tmp_path / WORKLIST_NAME).write_bytes(b"garbage" * 200)
    assert main(["worklist", str(tmp_path)]) == 2
    assert "damaged" in capsys.readouterr().err


def test_a_folder_without_a_worklist_gets_one_from_its_results_csv(model, dcmtk, xrays, tmp_path):
    folder = tmp_path / "older"
    folder.mkdir()
    sent = write_study(tmp_path / "a", xrays[0], "CXRT-WL-OLD", (("CR", "PA"), ("CR", "LL")))
    sent += write_study(tmp_path / "b", xrays[1], "CXRT-WL-AGE", (("DX", "AP"),), PatientAge="045Y")
    listener = Listener(model, folder, free_port(), aet=AET, bind="127.0.0.1")
    listener.start()
    try:
        assert storescu(listener.port, sent, called=AET).returncode == 0
        wait_for(lambda: listener.counts["rows"] == len(sent))
    finally:
        listener.stop()
    kept = read_worklist(folder)
    for suffix in ("", "-wal", "-shm"):  # as a listener of an earlier version left it
        (folder / f"{WORKLIST_NAME}{suffix}").unlink(missing_ok=True)
    Worklist(folder, create=True).close()
    rebuilt = read_worklist(folder)

    def facts(row):  # results.csv keeps probabilities to 6 decimals
        p = None if row.probability is None else round(row.probability, 6)
        return (row.study_uid, row.sop_uid, row.patient, row.images, row.reading, p)

    assert [facts(r) for r in rebuilt] == [facts(r) for r in kept]
    assert rebuilt[-1].reason.startswith("outside the model's age range")
