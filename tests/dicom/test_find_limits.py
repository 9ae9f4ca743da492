"""A query that matches thousands of studies: `--limit` stops it (DIMSE aborts the C-FIND,
DICOMweb pages with limit/offset), says that more matched, and `pacs scan` honours it."""

from __future__ import annotations

import json

import pytest
from helpers_orthanc import store_bulk

from cxr_model.cli import main
from cxr_model.dicom_net import web
from cxr_model.dicom_net.query import DEFAULT_LIMIT

BULK = 2000
DATE = "19990101"


@pytest.fixture(scope="module")
def bulk(orthanc) -> int:
    store_bulk(orthanc, BULK, DATE)
    return BULK


def find(capsys, node: str, *args: str) -> tuple[int, list[dict], str]:
    code = main(["pacs", "find", node, "--study-date", DATE, "--json", *args])
    out, err = capsys.readouterr()
    return code, [json.loads(line) for line in out.splitlines()], err


@pytest.mark.parametrize("kind", ["dimse", "web"])
def test_default_limit_and_the_warning(capsys, orthanc, bulk, kind):
    node = orthanc.dimse if kind == "dimse" else orthanc.web
    code, studies, err = find(capsys, node)
    assert code == 0
    assert len(studies) == DEFAULT_LIMIT == len({s["study_uid"] for s in studies})
    assert f"more than {DEFAULT_LIMIT} studies match" in err


@pytest.mark.parametrize("kind", ["dimse", "web"])
def test_a_limit_past_the_page_size_pages_through(capsys, orthanc, bulk, kind):
    node = orthanc.dimse if kind == "dimse" else orthanc.web
    limit = web.PAGE_SIZE * 2 + 50
    code, studies, err = find(capsys, node, "--limit", str(limit))
    assert code == 0
    assert len({s["study_uid"] for s in studies}) == limit
    assert all(s["patient_id"].startswith("BULK-") for s in studies)
    assert "more than" in err


def test_a_limit_above_the_matches_gets_them_all_without_warning(capsys, orthanc, bulk):
    code, studies, err = find(capsys, orthanc.web, "--limit", str(bulk + 1))
    assert code == 0
    assert len({s["study_uid"] for s in studies}) == bulk
    assert "more than" not in err


def test_scan_goes_through_the_limit_only(capsys, orthanc, bulk, model_dir, tmp_path):
    out = tmp_path / "scan.csv"
    code = main(
        [
            "--model",
            str(model_dir),
            "pacs",
            "scan",
            orthanc.dimse,
            "--study-date",
            DATE,
            "--limit",
            "3",
            "--out",
            str(out),
            "--quiet",
        ]
    )
    err = capsys.readouterr().err
    assert code == 0, err
    assert "more than 3 studies match" in err
    lines = out.read_text().splitlines()
    assert len(lines) == 1 + 3  # one PDF per study, each a row with its reason
    assert all("not an image (DOC)" in line for line in lines[1:])
