"""The model per study: by DICOM age, else by the population detectors; `model` in every output.

Most tests use a models folder made in tmp_path from the paediatric model: `paediatric` as
shipped and `adult`, the same weights with a card whose ages are adult (the card holds the
SHA-256 of the weight files, not of itself, so both folders verify). Routing by the image
needs a real adult model: those tests use resources/models/adult and skip without it.
"""

from __future__ import annotations

import csv
import json
import shutil
import warnings
from pathlib import Path
from types import SimpleNamespace

import pytest
from helpers_dicom import make_dicom
from helpers_models import ADULT_AGES, two_models

from cxr_model.cli import main
from cxr_model.imaging.dicom_meta import checked_age_years
from cxr_model.inference.card import CARD_NAME
from cxr_model.inference.router import detector_choice, load_models
from cxr_model.inference.scan import RESULT_FIELDS
from cxr_model.vocabulary import OodReason, Route

ROOT = Path(__file__).resolve().parent.parent
INSTALLED = ROOT / "resources" / "models"


@pytest.fixture(scope="module")
def models_dir(model_dir, tmp_path_factory) -> Path:
    return two_models(model_dir, tmp_path_factory.mktemp("models"))


@pytest.fixture(scope="module")
def models(models_dir):
    return load_models(models_dir)


@pytest.fixture(scope="module")
def xray(sample_images) -> Path:
    return sample_images[0]


def dicom_aged(xray: Path, folder: Path, name: str, **header) -> Path:
    return make_dicom(xray, folder / f"{name}.dcm", **header)


def test_the_age_in_the_header_chooses_the_model(models, xray, tmp_path):
    assert [m.card.short_name for m in models.models] == ["adult", "paediatric"]
    adult = models.predict(dicom_aged(xray, tmp_path, "a", PatientAge="045Y"))
    child = models.predict(dicom_aged(xray, tmp_path, "c", PatientAge="003Y"))
    teen = models.predict(dicom_aged(xray, tmp_path, "t", PatientAge="012Y"))
    assert adult.model.startswith("adult ") and adult.route == Route.AGE and adult.has_label
    assert child.model.startswith("paediatric ") and child.route == Route.AGE and child.has_label
    assert adult.model != child.model
    # 6 to 17 years: no model covers it, so no label whichever model ran
    assert not teen.has_label and teen.ood_reason == OodReason.AGE and teen.ood
    assert teen.route == Route.NO_MODEL_FOR_AGE and teen.patient_age == 12.0
    # the birth date with the study date gives the age when PatientAge is absent
    born = dicom_aged(xray, tmp_path, "b", PatientBirthDate="19800101", StudyDate="20250101")
    assert models.predict(born).model == adult.model


def test_a_batch_mixes_models_in_order(models, xray, tmp_path):
    ages = ["045Y", "003Y", "012Y", "067Y"]
    images = [models.read(dicom_aged(xray, tmp_path, a, PatientAge=a)) for a in ages]
    predictions = models.predict_batch(images, [None] * len(images))
    names = [p.model.split()[0] for p in predictions]
    assert names[0] == names[3] == "adult" and names[1] == "paediatric"
    assert [p.has_label for p in predictions] == [True, True, False, True]
    # each model gives the same answer in the batch as alone
    alone = models.models[1].predict(images[1])
    assert predictions[1].probability == pytest.approx(alone.probability, abs=1e-5)


@pytest.mark.parametrize(
    ("header", "warning"),
    [
        ({"PatientAge": "45"}, "not a DICOM age"),
        ({"PatientAge": "0Y"}, "not a DICOM age"),
        ({"PatientAge": "999Y"}, "over 125 years"),
        ({"PatientBirthDate": "20240101", "StudyDate": "20200101"}, "after the StudyDate"),
        ({"PatientBirthDate": "2024-01-01", "StudyDate": "20250101"}, "not a DICOM date"),
    ],
)
def test_malformed_ages_are_no_age_with_a_warning(models, xray, tmp_path, header, warning):
    age, why = checked_age_years(header)
    assert age is None and warning in why
    assert "2024" not in why  # never the birth date itself
    with warnings.catch_warnings():  # pydicom warns as it writes an invalid Age String
        warnings.simplefilter("ignore", UserWarning)
        path = dicom_aged(xray, tmp_path, "m", **header)
    prediction = models.predict(path)
    assert prediction.route == Route.IMAGE and prediction.patient_age is None
    assert warning in prediction.age_warning and prediction.has_label


def test_valid_ages_pass_the_strict_check():
    assert checked_age_years({"PatientAge": "045Y"}) == (45.0, None)
    assert checked_age_years({"PatientAge": "006M"}) == (0.5, None)
    assert checked_age_years({}) == (None, None)


def test_the_detectors_choose_when_there_is_no_age():
    def model(threshold):
        return SimpleNamespace(card=SimpleNamespace(population_threshold=threshold))

    def scores(*values):
        return [SimpleNamespace(population_score=v) for v in values]

    # the paediatric detector rejects (score over its limit), the adult one accepts
    assert detector_choice([model(-2.6), model(0.0)], scores(9.9, -3.0)) == 1
    # both accept: the lower score relative to each limit
    assert detector_choice([model(-2.6), model(1.0)], scores(-3.0, -1.0)) == 1
    # the only detector rejects: the model without a detector answers
    assert detector_choice([model(-2.6), model(None)], scores(9.9, 0.0)) == 1
    assert detector_choice([model(-2.6), model(None)], scores(-5.0, 0.0)) == 0
    # every detector rejects: the least far outside its population
    assert detector_choice([model(-2.6), model(0.0)], scores(9.9, 0.5)) == 1


def test_forcing_one_folder_answers_every_image(models_dir, xray, tmp_path, capsys):
    adult_dicom = dicom_aged(xray, tmp_path, "a", PatientAge="045Y")
    forced = models_dir / "paediatric"
    assert main(["--model", str(forced), "predict", str(adult_dicom), "--json"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert row["model"].startswith("paediatric ") and row["route"] == Route.ONLY
    assert row["ood_reason"] == OodReason.AGE  # the forced model's own age guard holds


def test_predict_json_and_text_name_the_model(models_dir, xray, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("CXR_MODELS_DIR", str(models_dir))
    monkeypatch.delenv("CXR_MODEL_DIR", raising=False)
    adult_dicom = dicom_aged(xray, tmp_path, "a", PatientAge="045Y")
    assert main(["predict", str(adult_dicom), "--json"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert row["model"].startswith("adult ") and row["route"] == Route.AGE
    assert main(["predict", str(adult_dicom)]) == 0
    assert "answered by the adult " in capsys.readouterr().out
    odd = dicom_aged(xray, tmp_path, "odd", PatientAge="999Y")
    assert main(["predict", str(odd), "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["age_warning"] and "treated as no age" in captured.err


def test_scan_csv_names_the_model_of_each_row(models_dir, xray, tmp_path, monkeypatch):
    monkeypatch.setenv("CXR_MODELS_DIR", str(models_dir))
    monkeypatch.delenv("CXR_MODEL_DIR", raising=False)
    folder = tmp_path / "studies"
    folder.mkdir()
    for age in ("045Y", "003Y", "012Y"):
        dicom_aged(xray, folder, age, PatientAge=age)
    out = tmp_path / "scan.csv"
    assert main(["scan", str(folder), "--out", str(out), "--quiet"]) == 0
    with open(out, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        assert tuple(reader.fieldnames) == RESULT_FIELDS and reader.fieldnames[-1] == "model"
        rows = {row["file"]: row for row in reader}
    assert rows["045Y.dcm"]["model"].startswith("adult ")
    assert rows["003Y.dcm"]["model"].startswith("paediatric ")
    assert rows["012Y.dcm"]["ood_reason"] == OodReason.AGE


def test_a_tampered_folder_is_unusable_and_the_others_work(
    models_dir, xray, tmp_path, capsys, monkeypatch
):
    root = tmp_path / "models"
    shutil.copytree(models_dir, root)
    with open(root / "adult" / "model.onnx", "ab") as fh:
        fh.write(b"\0")
    models = load_models(root)
    assert [m.card.short_name for m in models.models] == ["paediatric"]
    [broken] = models.unusable
    assert broken.directory.name == "adult" and "SHA-256" in broken.reason
    monkeypatch.setenv("CXR_MODELS_DIR", str(root))
    monkeypatch.delenv("CXR_MODEL_DIR", raising=False)
    assert main(["models"]) == 0
    listing = capsys.readouterr().out
    assert "adult: UNUSABLE" in listing and "SHA-256" in listing
    adult_dicom = dicom_aged(xray, tmp_path, "a", PatientAge="045Y")
    assert main(["predict", str(adult_dicom), "--json"]) == 0
    captured = capsys.readouterr()
    assert "model adult is unusable" in captured.err
    assert json.loads(captured.out)["model"].startswith("paediatric ")
    # none usable: exit 3, each reason said
    (root / "paediatric" / CARD_NAME).write_text("{not json")
    assert main(["models"]) == 3
    assert "no usable model" in capsys.readouterr().err
    assert main(["predict", str(adult_dicom)]) == 3


def test_cxr_models_lists_each_model(models_dir, capsys, monkeypatch):
    monkeypatch.setenv("CXR_MODELS_DIR", str(models_dir))
    monkeypatch.delenv("CXR_MODEL_DIR", raising=False)
    assert main(["models", "--json"]) == 0
    entries = json.loads(capsys.readouterr().out)
    assert [e["name"] for e in entries] == ["adult", "paediatric"]
    adult, child = entries
    assert adult["age_years"] == ADULT_AGES and adult["ages"] == "18 to 119 years"
    assert child["ages"] == "1 to 5 years" and child["usable"]
    assert adult["precision"] in ("int8", "fp32") and adult["model"].startswith("adult ")
    card = json.loads((models_dir / "paediatric" / CARD_NAME).read_text())
    if "test" in card.get("metrics", {}):
        assert child["measured_test"]["image"]["auc"] == card["metrics"]["test"]["image"]["auc"]
    assert main(["models"]) == 0
    text = capsys.readouterr().out
    assert "ages: 1 to 5 years" in text and "ages: 18 to 119 years" in text


# ------------------------------------------------------------- the real adult model (if any)

needs_adult = pytest.mark.skipif(
    not (INSTALLED / "adult" / CARD_NAME).is_file(),
    reason="no adult model in resources/models/adult yet (issue 17 parts 1-2)",
)


@pytest.fixture(scope="module")
def adult_images(shared_data) -> list[Path]:
    images = sorted((shared_data / "adult-nih-512" / "images").glob("*.png"))
    if not images:
        pytest.skip("adult-nih-512 images not found in ../shared/data")
    return images


@needs_adult
def test_an_adult_png_without_tags_is_routed_by_the_image(adult_images, sample_images):
    models = load_models(INSTALLED)
    assert {m.card.short_name for m in models.models} >= {"adult", "paediatric"}
    chosen = [models.predict(path) for path in adult_images[:6]]
    assert all(p.route == Route.IMAGE and p.model.startswith("adult ") for p in chosen)
    child = models.predict(next(p for p in sample_images if "bacteria" in p.name))
    assert child.route == Route.IMAGE and child.model.startswith("paediatric ")


@needs_adult
def test_the_shipped_adult_card_holds_adult_ages():
    models = load_models(INSTALLED / "adult")
    low, high = models.models[0].card.age_range
    assert low >= 18 and high > 80


def test_commands_that_change_one_model_ask_which(models_dir, capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("CXR_MODELS_DIR", str(models_dir))
    monkeypatch.delenv("CXR_MODEL_DIR", raising=False)
    pairs = tmp_path / "pairs.csv"
    pairs.write_text("image,report,label,split\n")
    assert main(["quantize", "--data", str(pairs)]) == 3
    assert "name the model folder with --model: 2 are installed" in capsys.readouterr().err
    assert main(["evaluate", "--data", str(pairs), "--split", "test"]) == 3
    assert "evaluate needs one model" in capsys.readouterr().err
