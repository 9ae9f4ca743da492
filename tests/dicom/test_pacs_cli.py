"""`cxr pacs echo/find/get/send` against a real Orthanc, by DIMSE and DICOMweb, with DCMTK
as the independent client; and every network fault the issue lists."""

from __future__ import annotations

import json
import subprocess

import pydicom
import pytest
from helpers_orthanc import OUR_AET, PACS_AET, SilentServer, dcmtk, free_port, write_study

from cxr_model.cli import main
from cxr_model.cli.common import EXIT_BAD_INPUT, EXIT_NETWORK

FIND_KEYS = [
    "study_uid",
    "patient_id",
    "patient_name",
    "study_date",
    "accession",
    "modalities",
    "description",
    "instances",
]


def cxr(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(params=["dimse", "web"])
def node(request, orthanc) -> str:
    return orthanc.dimse if request.param == "dimse" else orthanc.web


def test_echo_answers(capsys, node):
    code, out, err = cxr(capsys, "pacs", "echo", node)
    assert code == 0, err
    assert node in out


def test_echo_node_down_is_exit_4_naming_the_node(capsys):
    for node in (f"{PACS_AET}@127.0.0.1:{free_port()}", f"http://127.0.0.1:{free_port()}/x"):
        code, _, err = cxr(capsys, "pacs", "echo", node, "--timeout", "3")
        assert code == EXIT_NETWORK
        assert node in err and "check" in err
        assert "cannot connect" in err


def test_association_rejected_for_a_wrong_called_ae(capsys, orthanc):
    node = f"WRONGAE@127.0.0.1:{orthanc.dicom_port}"
    code, _, err = cxr(capsys, "pacs", "echo", node)
    assert code == EXIT_NETWORK
    assert "rejected the association" in err and node in err


@pytest.mark.parametrize("kind", ["dimse", "web"])
def test_a_node_that_never_answers_times_out(capsys, kind):
    server = SilentServer()
    try:
        node = (
            f"{PACS_AET}@127.0.0.1:{server.port}"
            if kind == "dimse"
            else f"http://127.0.0.1:{server.port}/dicom-web"
        )
        code, _, err = cxr(capsys, "pacs", "echo", node, "--timeout", "1")
    finally:
        server.close()
    assert code == EXIT_NETWORK
    assert node in err and ("1 s" in err)


def test_http_error_is_exit_4(capsys, orthanc):
    node = f"http://127.0.0.1:{orthanc.http_port}/no-such-root"
    code, _, err = cxr(capsys, "pacs", "find", node, "--patient-id", "X")
    assert code == EXIT_NETWORK
    assert "HTTP 404" in err and node in err


@pytest.mark.parametrize(
    "bad",
    [
        "ORTHANC@127.0.0.1",
        "127.0.0.1:104",
        "@127.0.0.1:104",
        "A@h:0",
        "A@h:99999",
        "THIS-AE-TITLE-IS-TOO-LONG@h:104",
    ],
)
def test_a_malformed_node_is_bad_input(capsys, bad):
    code, _, err = cxr(capsys, "pacs", "echo", bad)
    assert code == EXIT_BAD_INPUT
    assert "cxr:" in err


def test_find_json_contract(capsys, node, studies):
    mixed = studies["mixed"]
    code, out, err = cxr(capsys, "pacs", "find", node, "--patient-id", mixed.patient_id, "--json")
    assert code == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    assert len(rows) == 1
    assert list(rows[0]) == FIND_KEYS
    ds = pydicom.dcmread(mixed.files[0], stop_before_pixels=True)
    assert rows[0]["study_uid"] == mixed.study_uid
    assert rows[0]["patient_name"] == str(ds.PatientName)
    assert rows[0]["study_date"] == ds.StudyDate
    assert rows[0]["accession"] == ds.AccessionNumber
    assert sorted(rows[0]["modalities"]) == ["CR", "DX"]
    assert rows[0]["description"] == ds.StudyDescription
    assert rows[0]["instances"] == 2


def test_find_filters_agree_with_dcmtk_findscu(capsys, node, orthanc, studies):
    """Modality, date range and (DIMSE) wildcard name filters; findscu (DCMTK) as referee.

    Orthanc 1.10's QIDO-RS does not decode a percent-encoded `*` (docs/pacs.md), so the
    wildcard is checked by DIMSE only."""
    name = ["--patient-name", "*CXRT-*"] if node == orthanc.dimse else []
    code, out, _ = cxr(
        capsys,
        "pacs",
        "find",
        node,
        *name,
        "--modality",
        "DX",
        "--study-date",
        "20250101-20251231",
        "--json",
    )
    assert code == 0
    ours = {json.loads(line)["study_uid"] for line in out.splitlines()}
    findscu = subprocess.run(
        [
            dcmtk("findscu"),
            "-S",
            "-aet",
            OUR_AET,
            "-aec",
            PACS_AET,
            "-k",
            "QueryRetrieveLevel=STUDY",
            "-k",
            "PatientName=*CXRT-*",
            "-k",
            "ModalitiesInStudy=DX",
            "-k",
            "StudyDate=20250101-20251231",
            "-k",
            "StudyInstanceUID",
            "127.0.0.1",
            str(orthanc.dicom_port),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    theirs = {
        line.split("[")[1].split("]")[0].rstrip("\x00 ")
        for line in findscu.stderr.splitlines()
        if "StudyInstanceUID" in line and "[" in line
    }
    assert ours == theirs == {studies["mixed"].study_uid}


def test_find_bad_filters_are_bad_input(capsys, orthanc):
    for args in (["--study-date", "2025-03-14"], ["--modality", "C R"], ["--limit", "0"]):
        code, _, err = cxr(capsys, "pacs", "find", orthanc.dimse, *args)
        assert code == EXIT_BAD_INPUT, args
        assert "cxr:" in err


@pytest.mark.parametrize("how", ["get", "move", "web"])
def test_get_writes_the_study(capsys, how, orthanc, studies, tmp_path):
    mixed = studies["mixed"]
    node = orthanc.web if how == "web" else orthanc.dimse
    extra = (
        ["--move", "--port", str(orthanc.move_port), "--bind", "127.0.0.1"] if how == "move" else []
    )
    code, out, err = cxr(
        capsys, "pacs", "get", node, mixed.study_uid, "--out", str(tmp_path), *extra
    )
    assert code == 0, err
    written = sorted(out.split())
    sent = {pydicom.dcmread(f).SOPInstanceUID: pydicom.dcmread(f) for f in mixed.files}
    assert len(written) == len(sent)
    for path in written:
        ds = pydicom.dcmread(path)
        assert path.startswith(str(tmp_path / mixed.study_uid / ds.SeriesInstanceUID))
        assert ds.PixelData == sent[ds.SOPInstanceUID].PixelData
        assert ds.PatientID == mixed.patient_id


def test_get_of_a_study_the_node_does_not_hold(capsys, node, tmp_path):
    code, out, err = cxr(capsys, "pacs", "get", node, "1.2.3.4.5.6.7", "--out", str(tmp_path))
    assert code == EXIT_NETWORK
    assert out == "" and node in err
    assert not list(tmp_path.rglob("*.dcm"))


def test_get_into_an_unwritable_folder_is_bad_input(capsys, orthanc, studies, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    code, _, err = cxr(
        capsys,
        "pacs",
        "get",
        orthanc.dimse,
        studies["frontal"].study_uid,
        "--out",
        str(blocker / "out"),
    )
    assert code == EXIT_BAD_INPUT
    assert "cannot write to the output folder" in err


def test_move_needs_a_port(capsys, orthanc, studies, tmp_path):
    code, _, err = cxr(
        capsys,
        "pacs",
        "get",
        orthanc.dimse,
        studies["frontal"].study_uid,
        "--out",
        str(tmp_path),
        "--move",
    )
    assert code == EXIT_BAD_INPUT and "--port" in err


def test_send_stores_on_the_node(capsys, node, orthanc, xray, tmp_path):
    files = write_study(tmp_path, xray, f"CXRT-SEND-{'WEB' if 'http' in node else 'DIMSE'}")
    code, out, err = cxr(capsys, "pacs", "send", node, *map(str, files))
    assert code == 0, err
    assert "sent 1 instance(s)" in out
    uid = pydicom.dcmread(files[0]).StudyInstanceUID
    assert len(orthanc.study_instances(uid)) == 1


def test_send_a_missing_file_is_bad_input(capsys, orthanc, tmp_path):
    code, _, err = cxr(capsys, "pacs", "send", orthanc.dimse, str(tmp_path / "none.dcm"))
    assert code == EXIT_BAD_INPUT and "no such file" in err


def test_https_to_a_plain_http_node_is_a_tls_failure(capsys, orthanc):
    node = f"https://127.0.0.1:{orthanc.http_port}/dicom-web"
    code, _, err = cxr(capsys, "pacs", "echo", node, "--timeout", "5")
    assert code == EXIT_NETWORK
    assert "TLS failed" in err and node in err
