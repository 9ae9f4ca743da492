"""`cxr results`: SR (TID 1500) + Secondary Capture of one image, valid for dciodvfy, read
back by highdicom with the model's own numbers, and listed by Orthanc in the source study."""

from __future__ import annotations

import highdicom as hd
import numpy as np
import pydicom
import pytest
from helpers_models import two_models
from helpers_orthanc import dciodvfy_errors, write_study
from highdicom.sr.utils import find_content_items
from pydicom.sr.codedict import codes as dcm_codes

from cxr_model.cli import main
from cxr_model.cli.common import EXIT_BAD_INPUT
from cxr_model.dicom_results import codes
from cxr_model.dicom_results.identity import ModelIdentity
from cxr_model.inference.card import CARD_NAME, sha256_of

REPORT = "Right lower lobe consolidation, consistent with pneumonia."


@pytest.fixture(scope="module")
def written(model_dir, xray, tmp_path_factory, dciodvfy):
    """The result objects of one real X-ray (with a report), written by the CLI."""
    folder = tmp_path_factory.mktemp("results")
    source = write_study(folder / "in", xray, "CXRT-RESULTS")[0]
    code = main(
        [
            "--model",
            str(model_dir),
            "results",
            str(source),
            "--report",
            REPORT,
            "--out",
            str(folder / "out"),
        ]
    )
    assert code == 0
    files = sorted((folder / "out").rglob("*.dcm"))
    by_modality = {pydicom.dcmread(f).Modality: f for f in files}
    assert set(by_modality) == {"SR", "OT"}, files
    return source, by_modality["SR"], by_modality["OT"]


def test_both_objects_pass_dciodvfy(written):
    _, sr, sc = written
    assert dciodvfy_errors(sr) == []
    assert dciodvfy_errors(sc) == []


def test_both_are_in_the_source_study_in_new_series(written):
    source, sr, sc = (pydicom.dcmread(p) for p in written)
    series = {source.SeriesInstanceUID}
    for result in (sr, sc):
        for keyword in (
            "StudyInstanceUID",
            "PatientID",
            "PatientName",
            "PatientBirthDate",
            "PatientSex",
            "AccessionNumber",
            "StudyDate",
            "StudyID",
        ):
            assert result.get(keyword) == source.get(keyword), keyword
        assert result.SeriesInstanceUID not in series
        series.add(result.SeriesInstanceUID)
        assert result.Manufacturer.startswith("CXR Desktop")


def test_sr_reads_back_with_the_model_numbers(written, model):
    source_path, sr_path, _ = written
    prediction = model.predict(source_path, REPORT)
    sr = hd.sr.srread(sr_path)
    assert sr.SOPClassUID == "1.2.840.10008.5.1.4.1.1.88.34"  # Comprehensive 3D SR
    [group] = sr.content.get_image_measurement_groups()

    def value(code):
        [measurement] = group.get_measurements(name=code)
        assert measurement.unit == codes.NO_UNITS
        return measurement.value

    assert value(codes.P_FUSED) == pytest.approx(prediction.probability, abs=1e-6)
    assert value(codes.P_IMAGE) == pytest.approx(prediction.image_probability, abs=1e-6)
    assert value(codes.P_TEXT) == pytest.approx(prediction.text_probability, abs=1e-6)
    assert value(codes.THRESHOLD) == pytest.approx(prediction.threshold, abs=1e-6)

    def evaluation(code):
        [item] = group.get_qualitative_evaluations(name=code)
        return item.value

    label = codes.ABNORMAL if prediction.label == "abnormal" else codes.NORMAL
    if prediction.ood_reason == "age":
        label = codes.UNDETERMINED
    assert evaluation(codes.NORMALITY) == label
    assert evaluation(codes.OUT_OF_DISTRIBUTION) == codes.yes_no(bool(prediction.ood))
    assert evaluation(codes.DISCORDANT) == codes.yes_no(prediction.discordant)
    assert evaluation(codes.UNCERTAIN) == codes.yes_no(prediction.uncertain)
    # the source image is referenced, the model named with its card hash
    source = pydicom.dcmread(source_path)
    [image] = group.source_images
    assert image.referenced_sop_instance_uid == source.SOPInstanceUID
    card_sha = sha256_of(model.card.directory / CARD_NAME)
    identity = ModelIdentity.of(model.card)

    def texts(name):
        return [item.TextValue for item in find_content_items(group[0], name=name)]

    assert texts(dcm_codes.DCM.AlgorithmName) == [identity.model_name]
    assert texts(dcm_codes.DCM.AlgorithmVersion) == [identity.version]
    # which of the installed models answered: its folder name first, its version
    assert identity.model_name.startswith(f"{model.card.short_name}: ")
    assert identity.version == model.card.version == prediction.model.split(" ")[1]
    assert any(card_sha in text for text in texts(dcm_codes.DCM.AlgorithmParameters))
    assert f"card sha256 {card_sha[:16]}" in pydicom.dcmread(sr_path).SoftwareVersions
    schemes = {
        item.CodingSchemeDesignator
        for item in pydicom.dcmread(sr_path).CodingSchemeIdentificationSequence
    }
    assert codes.PRIVATE_SCHEME in schemes


def test_sc_shows_the_heatmap_and_the_banner(written, model):
    source_path, _, sc_path = written
    sc = pydicom.dcmread(sc_path)
    assert sc.PhotometricInterpretation == "RGB" and sc.BurnedInAnnotation == "YES"
    pixels = sc.pixel_array
    source = pydicom.dcmread(source_path)
    assert pixels.shape == (source.Rows, source.Columns, 3)
    band = pixels[:4]
    assert (band == 0).all()  # the black band behind the text
    text_rows = pixels[: pixels.shape[0] // 8]
    assert (text_rows > 200).all(axis=2).sum() > 100  # white text on it
    body = pixels[pixels.shape[0] // 4 :].astype(int)
    colour = np.abs(body[..., 0] - body[..., 2]).mean()
    heat = model.heatmap(model.predict(source_path, REPORT), "abnormal")
    # a coloured overlay where the (evidence-scaled) heatmap is hot, gray where it is cold
    assert (colour > 1.0) == (heat.max() > 0.05)
    card_sha = sha256_of(model.card.directory / CARD_NAME)
    assert card_sha in sc.ImageComments and "not for diagnosis" in sc.ImageComments
    card = model.card
    assert f"answered by the {card.short_name} model ({card.version})" in sc.ImageComments


def test_results_name_the_model_chosen_for_the_study(
    model_dir, xray, tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("CXR_MODELS_DIR", str(two_models(model_dir, tmp_path / "models")))
    monkeypatch.delenv("CXR_MODEL_DIR", raising=False)
    for age, name in (("045Y", "adult"), ("003Y", "paediatric")):
        [source] = write_study(tmp_path / age, xray, f"CXRT-{age}", PatientAge=age)
        assert main(["results", str(source), "--out", str(tmp_path / f"out-{age}")]) == 0
        objects = {}
        for path in capsys.readouterr().out.split():
            ds = pydicom.dcmread(path)
            objects[ds.Modality] = ds
        [group] = hd.sr.srread(objects["SR"].filename).content.get_image_measurement_groups()
        [algorithm] = find_content_items(group[0], name=dcm_codes.DCM.AlgorithmName)
        assert algorithm.TextValue.startswith(f"{name}: ")
        assert objects["OT"].ManufacturerModelName.startswith(f"{name}: ")
        assert f"answered by the {name} " in objects["OT"].ImageComments


@pytest.mark.parametrize("kind", ["dimse", "web"])
def test_results_sent_are_listed_by_orthanc_in_the_source_study(written, orthanc, kind):
    source, sr, sc = written
    node = orthanc.dimse if kind == "dimse" else orthanc.web
    assert main(["pacs", "send", node, str(source)]) == 0
    assert main(["pacs", "send", node, str(sr), str(sc)]) == 0
    uid = pydicom.dcmread(source).StudyInstanceUID
    listed = {i["MainDicomTags"]["SOPInstanceUID"] for i in orthanc.study_instances(uid)}
    expected = {pydicom.dcmread(p).SOPInstanceUID for p in (source, sr, sc)}
    assert listed == expected


def test_results_of_a_file_that_is_not_dicom(capsys, model_dir, tmp_path, sample_images):
    code = main(
        ["--model", str(model_dir), "results", str(sample_images[0]), "--out", str(tmp_path)]
    )
    assert code == EXIT_BAD_INPUT
    assert "not a readable DICOM file" in capsys.readouterr().err
