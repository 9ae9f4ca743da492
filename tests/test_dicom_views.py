"""DICOM header reading without pixels, the frontal-chest rule, grouping into studies."""

from __future__ import annotations

from pathlib import Path

import pydicom
import pytest
from helpers_dicom_header import write_dicom

from cxr_model.errors import ImageReadError
from cxr_model.imaging.dicom_header import read_header, read_meta
from cxr_model.imaging.studies import folder_studies, group_studies
from cxr_model.imaging.views import chest_view


@pytest.mark.parametrize(
    ("meta", "scored", "view", "why"),
    [
        ({"Modality": "CR", "BodyPartExamined": "CHEST", "ViewPosition": "PA"}, True, "PA", ""),
        ({"Modality": "DX", "ViewPosition": "ap "}, True, "AP", ""),
        ({"Modality": "DX", "ViewPosition": "LL"}, False, "lateral", "lateral view"),
        ({"ViewPosition": "RL"}, False, "lateral", "lateral view"),
        ({"Modality": "CT", "ViewPosition": "PA"}, False, "unknown", "modality CT"),
        ({"Modality": "CR", "BodyPartExamined": "KNEE"}, False, "unknown", "body part KNEE"),
        ({"Modality": "CR", "ViewPosition": "OBL"}, False, "OBL", "not frontal"),
        ({"SeriesDescription": "Chest LAT"}, False, "lateral", "series description"),
        ({"SeriesDescription": "Chest PA + LAT"}, True, "frontal", ""),
        ({}, True, "unknown", ""),  # a PNG, or a DICOM that says nothing: scored as before
    ],
)
def test_chest_view(meta, scored, view, why):
    verdict = chest_view(meta)
    assert (verdict.scored, verdict.view) == (scored, view)
    assert why in verdict.reason and bool(verdict.reason) != scored


def test_read_header_full_tree_without_pixels(tmp_path):
    path = write_dicom(tmp_path / "x.dcm", PatientAge="045Y", ViewPosition="PA")
    ds = pydicom.dcmread(path)
    block = ds.private_block(0x0009, "CXR TEST", create=True)
    block.add_new(0x01, "LO", "site secret")
    item = pydicom.Dataset()
    item.CodeValue, item.CodeMeaning = "R-1234", "chest"
    ds.ProcedureCodeSequence = [item]
    ds.save_as(path)
    header = read_header(path)
    by_tag = {e.tag: e for e in header}
    assert by_tag["(0010,1010)"].keyword == "PatientAge"
    assert by_tag["(0010,1010)"].value == "045Y" and by_tag["(0010,1010)"].vr == "AS"
    assert by_tag["(0002,0010)"].name == "Transfer Syntax UID"  # file meta comes first
    pixels = by_tag["(7FE0,0010)"]
    assert pixels.value == f"pixel data, {48 * 64 * 2} bytes, not shown"
    private = by_tag["(0009,1001)"]
    assert private.private and "CXR TEST" in private.name and private.value == "site secret"
    assert by_tag["(0009,0010)"].private and by_tag["(0009,0010)"].name == "Private Creator"
    assert not by_tag["(0010,0010)"].private
    sequence = by_tag["(0008,1032)"]
    assert sequence.vr == "SQ" and sequence.value == "1 item"
    assert [(e.keyword, e.value) for e in sequence.items[0]] == [
        ("CodeValue", "R-1234"),
        ("CodeMeaning", "chest"),
    ]
    assert max(len(e.value) for e in header) < 300  # nothing large is dumped


def test_read_header_refuses_non_dicom(tmp_path, sample_images):
    with pytest.raises(ImageReadError, match="DICOM"):
        read_header(sample_images[0])
    with pytest.raises(ImageReadError, match="no such file"):
        read_meta(tmp_path / "gone.dcm")


def test_folder_of_two_studies(tmp_path, sample_images):
    study_a, study_b = "1.2.826.0.1.3680043.10.1", "1.2.826.0.1.3680043.10.2"
    write_dicom(
        tmp_path / "b_pa.dcm",
        StudyInstanceUID=study_b,
        SeriesInstanceUID="2.1",
        StudyDate="20240301",
        ViewPosition="PA",
        StudyDescription="CHEST 1 VIEW",
    )
    write_dicom(
        tmp_path / "a_lat.dcm",
        StudyInstanceUID=study_a,
        SeriesInstanceUID="1.2",
        SeriesNumber=2,
        StudyDate="20230105",
        ViewPosition="LL",
    )
    write_dicom(
        tmp_path / "a_pa.dcm",
        StudyInstanceUID=study_a,
        SeriesInstanceUID="1.1",
        SeriesNumber=1,
        StudyDate="20230105",
        ViewPosition="PA",
    )
    write_dicom(
        tmp_path / "no_suffix",
        StudyInstanceUID=study_a,
        SeriesInstanceUID="1.1",
        SeriesNumber=1,
        InstanceNumber=2,
        StudyDate="20230105",
        ViewPosition="AP",
    )
    (tmp_path / "broken.dcm").write_bytes(b"\x00" * 300)
    (tmp_path / sample_images[0].name).write_bytes(sample_images[0].read_bytes())  # not DICOM

    studies, unreadable = folder_studies(tmp_path)
    assert [s.uid for s in studies] == [study_a, study_b]  # by study date
    first = studies[0]
    assert [s.uid for s in first.series] == ["1.1", "1.2"]  # by series number
    assert [i.path.name for i in first.series[0].images] == ["a_pa.dcm", "no_suffix"]
    assert [(i.view.scored, i.view.view) for i in first.images] == [
        (True, "PA"),
        (True, "AP"),
        (False, "lateral"),
    ]
    assert studies[1].description == "CHEST 1 VIEW" and studies[1].patient == "Test^Phantom"
    assert [p.name for p, _ in unreadable] == ["broken.dcm"]
    assert group_studies([]) == []
    no_uid = group_studies([(Path("x.png"), {})])
    assert no_uid[0].uid == "" and no_uid[0].images[0].view.scored
