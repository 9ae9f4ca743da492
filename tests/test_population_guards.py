"""Who the model is for: the age guard from DICOM headers, bounded calibration, the evidence
scaling of the heatmap and the uncertainty band (issue 11, core and CLI)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from helpers_dicom_header import write_dicom

from cxr_model.cli import main
from cxr_model.imaging.dicom_meta import patient_age_years, pixel_spacing_mm
from cxr_model.imaging.reader import read_image
from cxr_model.inference.predictor import evidence


@pytest.mark.parametrize(
    "text, years",
    [
        ("045Y", 45.0),
        ("006M", 0.5),
        ("052W", 52 * 7 / 365.25),
        ("010D", 10 / 365.25),
        (" 003y ", 3.0),
        ("3Y", None),  # not a DICOM Age String: three digits and a unit
        ("45", None),
        ("", None),
        ("-03Y", None),
        ("045X", None),
    ],
)
def test_age_strings(text, years):
    assert patient_age_years({"PatientAge": text}) == (
        None if years is None else pytest.approx(years)
    )


def test_age_from_birth_date_and_the_first_date_of_the_study():
    born = {"PatientBirthDate": "20200301"}
    assert patient_age_years({**born, "StudyDate": "20230301"}) == pytest.approx(3.0, abs=0.01)
    # no study date: the acquisition date is used
    assert patient_age_years({**born, "AcquisitionDate": "20250301"}) == pytest.approx(
        5.0, abs=0.01
    )
    assert patient_age_years({**born}) is None
    assert patient_age_years({"PatientAge": "045Y", **born, "StudyDate": "20230301"}) == 45.0
    # what the router sets aside is not shown either: one reading of the header's age
    assert patient_age_years({"PatientBirthDate": "not a date", "StudyDate": "20230301"}) is None
    assert patient_age_years({**born, "StudyDate": "19990101"}) is None


def test_pixel_spacing_prefers_pixel_spacing_and_refuses_nonsense():
    assert pixel_spacing_mm({"PixelSpacing": "0.2\\0.3"}) == (0.2, 0.3)
    assert pixel_spacing_mm({"ImagerPixelSpacing": "0.15\\0.15"}) == (0.15, 0.15)
    assert pixel_spacing_mm({"PixelSpacing": "0\\0.1", "ImagerPixelSpacing": "x"}) is None
    assert pixel_spacing_mm({}) is None


@pytest.fixture
def adult_dicom(tmp_path, sample_images):
    return write_dicom(tmp_path / "adult.dcm", sample_images[0], PatientAge="045Y")


def test_an_adult_dicom_is_out_of_population_by_age(model, adult_dicom, tmp_path):
    if model.card.age_range is None:
        pytest.skip("the model in use states no training ages")
    child = write_dicom(tmp_path / "child.dcm", read_image(adult_dicom).pixels, PatientAge="003Y")
    unknown = write_dicom(tmp_path / "unknown.dcm", read_image(adult_dicom).pixels)
    adult = model.predict(adult_dicom)
    assert adult.patient_age == 45.0
    assert adult.ood is True and adult.ood_reason == "age"
    assert model.predict(child).ood_reason != "age"
    assert model.predict(child).patient_age == 3.0
    nothing = model.predict(unknown)  # no tag: the image guard alone decides
    assert nothing.patient_age is None and nothing.ood_reason in (None, "image")


def test_cli_json_and_text_say_no_label_for_an_adult(model_dir, adult_dicom, capsys, monkeypatch):
    monkeypatch.setenv("CXR_MODEL_DIR", str(model_dir))
    assert main(["predict", str(adult_dicom), "--json"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert row["ood"] is True and row["ood_reason"] == "age"
    assert main(["predict", str(adult_dicom)]) == 0
    text = capsys.readouterr().out
    assert "NO LABEL" in text and "outside the ages the model was trained on" in text


def test_probabilities_stay_within_the_calibration_floor(model, sample_images):
    floors = {model.card.calibration(h)[2] for h in ("fused", "image", "text")}
    floor = min(floors)
    report = "Dense right lower lobe consolidation consistent with pneumonia."
    for image in sample_images:
        for p in (model.predict(image), model.predict(image, report)):
            values = [p.probability, p.image_probability]
            values += [] if p.text_probability is None else [p.text_probability]
            assert all(floor - 1e-9 <= v <= 1 - floor + 1e-9 for v in values)


def test_heatmap_is_scaled_by_the_evidence_for_its_target(model, sample_images):
    for image in sample_images:
        p = model.predict(image)
        for target in ("abnormal", "normal"):
            heat = model.heatmap(p, target)
            strength = evidence(p, target)
            assert 0.0 <= strength <= 1.0
            assert heat.max() == pytest.approx(strength, abs=1e-3)
        # exactly one side of the threshold is at full strength
        assert max(evidence(p, "abnormal"), evidence(p, "normal")) == 1.0


def test_uncertain_is_the_band_around_the_threshold(model, sample_images):
    p = model.predict(sample_images[0])
    margin = model.card.uncertainty_margin("image")
    assert p.uncertain == (abs(p.probability - p.threshold) < margin)
    assert np.isfinite(margin) and 0.0 <= margin <= 0.3


def test_evaluate_a_site_split_without_reports(
    model_dir, shared_data, tmp_path, capsys, monkeypatch
):
    """A site's own X-rays often come without reports: evaluation scores the image and fused
    heads and says the report head has nothing to score (the adaptation measurement)."""
    from cxr_model.training.dataset_build import build_from_folder

    adult = shared_data / "adult-nih-64"
    pairs = tmp_path / "pairs.csv"
    build_from_folder(
        adult / "images", adult / "labels.csv", pairs, seed=0, fractions=(0.5, 0.15, 0.35)
    )
    monkeypatch.setenv("CXR_MODEL_DIR", str(model_dir))
    assert (
        main(
            [
                "evaluate",
                "--data",
                str(pairs),
                "--split",
                "val",
                "--out",
                str(tmp_path / "eval"),
                "--quiet",
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    measured = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert "text" not in measured and measured["image"]["n"] == measured["fused"]["n"] > 0
    assert "no study of this split has a report" in printed
