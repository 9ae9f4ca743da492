"""`cxr pacs scan`: find, retrieve, score the frontal chest images, a row with a reason for
every other instance, SR + SC sent back with --send, resumable; by DIMSE and DICOMweb."""

from __future__ import annotations

import csv

import pydicom
import pytest
from helpers_orthanc import load_studies

from cxr_model.cli import main
from cxr_model.dicom_net.instances import NOT_SCORED, PACS_FIELDS

DATES = {"dimse": "20240601", "web": "20240602"}


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        assert tuple(reader.fieldnames) == PACS_FIELDS
        return list(reader)


@pytest.fixture(scope="module", params=["dimse", "web"])
def scanned(request, orthanc, dcmtk, xrays, model_dir, tmp_path_factory):
    """Studies of their own (the scan sends results into them), scanned once with --send."""
    kind = request.param
    folder = tmp_path_factory.mktemp(f"scan-{kind}")
    loaded = load_studies(orthanc, xrays, folder / "studies", DATES[kind])
    node = orthanc.dimse if kind == "dimse" else orthanc.web
    args = [
        "--model",
        str(model_dir),
        "pacs",
        "scan",
        node,
        "--study-date",
        DATES[kind],
        "--out",
        str(folder / "results.csv"),
        "--send",
        "--quiet",
    ]
    assert main(args) == 0
    return loaded, folder / "results.csv", args


def test_every_instance_gets_a_row(scanned):
    loaded, csv_path, _ = scanned
    rows = read_csv(csv_path)
    sent = {
        pydicom.dcmread(f).SOPInstanceUID: (name, pydicom.dcmread(f))
        for name, study in loaded.items()
        for f in study.files
    }
    assert sorted(r["sop_uid"] for r in rows) == sorted(sent)
    for row in rows:
        name, ds = sent[row["sop_uid"]]
        assert row["study_uid"] == ds.StudyInstanceUID
        assert row["series_uid"] == ds.SeriesInstanceUID
        assert (
            row["file"] == f"{ds.StudyInstanceUID}/{ds.SeriesInstanceUID}/{ds.SOPInstanceUID}.dcm"
        )
        frontal = ds.Modality in ("CR", "DX") and ds.get("ViewPosition") in ("PA", "AP")
        if frontal:
            assert row["error"] == "" and row["label"] in ("normal", "abnormal")
        else:
            assert row["probability"] == "" and row["error"].startswith(NOT_SCORED)
            assert ("lateral view" in row["error"]) == (ds.Modality == "CR")
            assert ("not an image" in row["error"]) == (ds.Modality in ("SR", "DOC"))
    assert sum(1 for r in rows if r["probability"]) == 2


def test_scores_equal_the_local_model(scanned, model):
    loaded, csv_path, _ = scanned
    rows = {r["sop_uid"]: r for r in read_csv(csv_path)}
    for name in ("frontal", "mixed"):
        path = loaded[name].files[0]
        prediction = model.predict(path)
        row = rows[pydicom.dcmread(path).SOPInstanceUID]
        assert float(row["probability"]) == pytest.approx(prediction.probability, abs=1e-5)
        assert row["label"] == prediction.label
        assert row["model"] == prediction.model == model.card.label


def test_send_puts_sr_and_sc_in_the_source_studies(scanned, orthanc):
    loaded, _, _ = scanned
    for name, added in (("frontal", 2), ("mixed", 2), ("laterals", 0), ("documents", 0)):
        instances = orthanc.study_instances(loaded[name].study_uid)
        assert len(instances) == len(loaded[name].files) + added, name


def test_a_rerun_scores_nothing_twice(scanned):
    """The studies grew by our SR + SC: they are looked at again, but no image is scored
    again; the new instances get their 'not scored' rows, then a third run adds nothing."""
    _, csv_path, args = scanned
    before = read_csv(csv_path)
    assert main(args) == 0
    after = read_csv(csv_path)
    assert after[: len(before)] == before
    new = after[len(before) :]
    assert len(new) == 4 and all(r["error"].startswith(NOT_SCORED) for r in new)
    assert main(args) == 0
    assert read_csv(csv_path) == after


def test_a_scan_killed_half_way_resumes(scanned, tmp_path):
    """A kill leaves a prefix of the rows: the rerun adds exactly the missing ones."""
    _, csv_path, args = scanned
    rows = read_csv(csv_path)
    partial = tmp_path / "partial.csv"
    with open(csv_path, encoding="utf-8") as fh:
        lines = fh.readlines()
    partial.write_text("".join(lines[:4]), encoding="utf-8")  # header + 3 rows
    resumed_args = [a if a != str(csv_path) else str(partial) for a in args]
    resumed_args.remove("--send")
    assert main(resumed_args) == 0
    resumed = read_csv(partial)
    assert sorted(r["sop_uid"] for r in resumed) == sorted(r["sop_uid"] for r in rows)
