"""Nodes, study queries, safe file names and which instances are scored (no network)."""

from __future__ import annotations

import pytest
from pydicom.dataset import Dataset

from cxr_model.dicom_files import instance_path, instance_uids, valid_uid, write_atomically
from cxr_model.dicom_net.instances import NOT_SCORED, is_final, not_scored_reason
from cxr_model.dicom_net.node import parse_node
from cxr_model.dicom_net.query import StudyQuery, parse_modalities, study_from_dataset
from cxr_model.errors import InvalidInstanceError

pytestmark = pytest.mark.filterwarnings("ignore:Invalid value for VR UI")


@pytest.mark.parametrize(
    "text, expected",
    [
        ("ORTHANC@127.0.0.1:4242", ("ORTHANC", "127.0.0.1", 4242, None)),
        ("MY AE@pacs.local:104", ("MY AE", "pacs.local", 104, None)),
        ("A@[::1]:11112", ("A", "::1", 11112, None)),
        (
            "http://127.0.0.1:8042/dicom-web/",
            (None, "127.0.0.1", 8042, "http://127.0.0.1:8042/dicom-web"),
        ),
        (
            "https://pacs.example/dicomweb",
            (None, "pacs.example", 443, "https://pacs.example/dicomweb"),
        ),
    ],
)
def test_parse_node(text, expected):
    node = parse_node(text)
    assert (node.aet, node.host, node.port, node.url) == expected
    assert parse_node(str(node)) == node


@pytest.mark.parametrize(
    "text",
    [
        "ORTHANC@127.0.0.1",
        "127.0.0.1:104",
        "@h:104",
        "A@:104",
        "A@h:x",
        "A@h:0",
        "A@h:70000",
        "SEVENTEEN-CHARS-AE@h:1",
        "A\\B@h:104",
        "http://:80/x",
        "   @h:1",
    ],
)
def test_parse_node_refuses(text):
    with pytest.raises(ValueError):
        parse_node(text)


def test_what_to_check_names_the_node():
    assert "127.0.0.1:104" in parse_node("X@127.0.0.1:104").what_to_check()
    assert "http://h/dw" in parse_node("http://h/dw").what_to_check()


@pytest.mark.parametrize(
    "uid, ok",
    [
        ("1.2.840.10008.1.2", True),
        ("0.1", True),
        ("1", True),
        ("1.02.3", False),
        ("..", False),
        ("../x", False),
        ("1.2.3/../4", False),
        ("", False),
        ("1." + "2" * 63, False),
        ("1.2.", False),
        (".1.2", False),
        ("1.2 ", False),
    ],
)
def test_valid_uid(uid, ok):
    assert (valid_uid(uid) == uid) is ok


def test_instance_paths_never_leave_the_folder(tmp_path):
    ds = Dataset()
    ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID = "1.2", "1.2.3", "1.2.3.4"
    assert instance_path(tmp_path, instance_uids(ds)) == tmp_path / "1.2/1.2.3/1.2.3.4.dcm"
    for keyword, crafted in (
        ("StudyInstanceUID", "../../etc"),
        ("SeriesInstanceUID", ".."),
        ("SOPInstanceUID", "1.2/../../x"),
        ("SOPInstanceUID", None),
    ):
        bad = Dataset()
        bad.StudyInstanceUID, bad.SeriesInstanceUID, bad.SOPInstanceUID = "1", "2", "3"
        if crafted is None:
            del bad.SOPInstanceUID
        else:
            setattr(bad, keyword, crafted)
        with pytest.raises(InvalidInstanceError, match=keyword):
            instance_uids(bad)


def test_write_atomically_leaves_no_partial_file(tmp_path):
    target = tmp_path / "a" / "b.dcm"
    write_atomically(target, b"first")
    with pytest.raises(Exception):  # noqa: B017 (any failure half-way)
        write_atomically(target, Dataset())  # no file meta: pydicom refuses mid-write
    assert target.read_bytes() == b"first"
    assert [p.name for p in target.parent.iterdir()] == ["b.dcm"]


def test_study_query_filters_and_validation():
    query = StudyQuery(patient_id="P1", study_date="20240101-", modalities=("CR", "DX"))
    assert query.filters() == {
        "PatientID": "P1",
        "StudyDate": "20240101-",
        "ModalitiesInStudy": "CR\\DX",
    }
    assert parse_modalities("cr, dx") == ("CR", "DX")
    for bad in ({"study_date": "2024-01-01"}, {"study_date": "-"}, {"limit": 0}):
        with pytest.raises(ValueError):
            StudyQuery(**bad)
    with pytest.raises(ValueError):
        parse_modalities("C R")


def test_study_from_dataset_says_null_where_the_node_is_silent():
    ds = Dataset()
    ds.StudyInstanceUID, ds.PatientID, ds.ModalitiesInStudy = "1.2", "P", ["CR", "DX"]
    ds.NumberOfStudyRelatedInstances = "3"
    study = study_from_dataset(ds).to_dict()
    assert study == {
        "study_uid": "1.2",
        "patient_id": "P",
        "patient_name": None,
        "study_date": None,
        "accession": None,
        "modalities": ["CR", "DX"],
        "description": None,
        "instances": 3,
    }
    assert study_from_dataset(Dataset()) is None


def _image(**values) -> Dataset:
    ds = Dataset()
    ds.Rows, ds.Columns = 8, 8
    for keyword, value in values.items():
        setattr(ds, keyword, value)
    return ds


@pytest.mark.parametrize(
    "ds, phrase",
    [
        (_image(Modality="CR", ViewPosition="PA"), None),
        (_image(Modality="DX", ViewPosition="AP"), None),
        (_image(Modality="DX"), None),  # silent header: scored, as `chest_view` rules
        (_image(Modality="CR", ViewPosition="LL"), "lateral view (ViewPosition LL)"),
        (_image(Modality="CR", ViewPosition="PA", BodyPartExamined="HAND"), "body part HAND"),
        (_image(Modality="CT", ViewPosition="PA"), "modality CT"),
        (Dataset(), "not an image"),
    ],
)
def test_which_instances_are_scored(ds, phrase):
    reason = not_scored_reason(ds)
    if phrase is None:
        assert reason is None
    else:
        assert reason.startswith(NOT_SCORED) and phrase in reason
        assert is_final({"error": reason})
    assert not is_final({"error": "file is truncated"})
