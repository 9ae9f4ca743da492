"""Issue 11 in the app: no label outside the training population, the population in the
panel and About, Model > Open model folder…, the faded-heatmap note."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from desktop_helpers import WAIT_MS, new_window, open_and_wait
from helpers_dicom_header import write_dicom

from cxr_desktop.dialogs.about import about_html, model_title
from cxr_desktop.features.heatmap import faded_text
from cxr_desktop.model_factory import startup_model_dir
from cxr_desktop.panels.result_panel import age_group, age_text, percent
from cxr_model.inference.card import CARD_NAME, load_card
from cxr_model.inference.predictor import evidence, load_model


@pytest.mark.parametrize(
    ("years", "group", "text"),
    [
        (45.0, "adult", "45 years"),
        (18.0, "adult", "18 years"),
        (17.9, "adolescent", "17 years"),
        (13.0, "adolescent", "13 years"),
        (12.9, "child", "12 years"),
        (1.0, "child", "1 year"),
        (0.5, "infant", "6 months"),
        (10 / 365.25, "infant", "1 week"),
        (3 / 365.25, "infant", "3 days"),
    ],
)
def test_age_words(years, group, text):
    assert (age_group(years), age_text(years)) == (group, text)


def test_adult_dicom_is_greyed_with_no_label(qtbot, window, tmp_path, sample_images):
    card = window.session.card
    if card.age_range is None:
        pytest.skip("the model in use has no training age range (untrained fixture model)")
    adult = write_dicom(tmp_path / "adult.dcm", sample_images[0], PatientAge="045Y")
    open_and_wait(qtbot, window, adult)
    prediction = window.session.prediction
    assert prediction.ood_reason == "age" and prediction.patient_age == 45.0
    panel = window.inference.panel
    assert "no label" in panel.label.text()
    assert "NORMAL" not in panel.label.text() and "ABNORMAL" not in panel.label.text()
    assert "#9a9a9a" in panel.probability.styleSheet()  # the numbers are greyed
    warning = panel.population_warning
    assert warning.isVisible()
    assert "Outside the model's training population (adult, 45 years): no label" in warning.text()
    assert not panel.ood.isVisible()  # not the "unlike the training X-rays" warning
    summary = card.data["population"]["summary"]
    assert panel.population.isVisible() and summary in panel.population.text()

    child = write_dicom(tmp_path / "child.dcm", sample_images[0], PatientAge="004Y")
    open_and_wait(qtbot, window, child)
    assert window.session.prediction.ood_reason != "age"
    assert not warning.isVisible() and "no label" not in panel.label.text()


def test_about_shows_the_population(qtbot, window):
    card = window.session.card
    population = card.data.get("population")
    if not population:
        pytest.skip("the model in use has no population section (untrained fixture model)")
    about = window.help.show_about()
    qtbot.addWidget(about)
    text = about.browser.toPlainText()
    for key in ("ages", "projection", "sites", "labels"):
        assert population[key] in text, key
    assert all(item in text for item in population["never_seen"])


def linked_model(source: Path, folder: Path, **card_changes) -> Path:
    """A model folder whose weight files link to `source`'s, with a changed card."""
    folder.mkdir()
    data = json.loads((source / CARD_NAME).read_text(encoding="utf-8"))
    for name in data["files"]:
        os.symlink(source / name, folder / name)
    (folder / CARD_NAME).write_text(json.dumps({**data, **card_changes}), encoding="utf-8")
    return folder


def test_open_model_folder_good_and_bad(
    qtbot, window, fixture_model_dir, tmp_path, sample_without_report, settings
):
    open_and_wait(qtbot, window, sample_without_report)
    first = window.session.card
    first_result = window.session.prediction

    bad = tmp_path / "not-a-model"
    bad.mkdir()
    window.model.open_folder(bad)
    qtbot.waitUntil(window.message.isVisible, timeout=WAIT_MS)
    assert "Cannot use the model folder" in window.message.text()
    assert "model_card.json not found" in window.message.text()
    assert f"still using {model_title(first)}" in window.message.text()
    assert window.session.card is first and settings.model_dir() is None
    window.report.editor.edit.setPlainText("clear lungs")  # the old model still answers
    qtbot.waitUntil(
        lambda: (
            window.session.prediction is not first_result and window.session.prediction is not None
        ),
        timeout=WAIT_MS,
    )

    damaged = linked_model(
        fixture_model_dir,
        tmp_path / "damaged",
        files={"model.onnx": "0" * 64, "weights.safetensors": "0" * 64},
    )
    window.model.open_folder(damaged)
    qtbot.waitUntil(lambda: "damaged" in window.message.text(), timeout=WAIT_MS)
    assert "SHA-256" in window.message.text() and window.session.card is first

    adapted = linked_model(
        fixture_model_dir,
        tmp_path / "adapted",
        name="site model",
        parent={"name": "base model", "sha256": "ab" * 32},
    )
    window.model.open_folder(adapted)
    qtbot.waitUntil(lambda: window.session.card is not first, timeout=WAIT_MS)
    card = window.session.card
    assert card.directory == adapted and settings.model_dir() == adapted
    assert "site model, adapted from base model" in window.windowTitle()
    stale = window.session.prediction  # the switch re-runs the prediction
    qtbot.waitUntil(
        lambda: window.session.prediction is not None and window.session.prediction is not stale,
        timeout=WAIT_MS,
    )
    expected = load_model(adapted).predict(sample_without_report, "clear lungs")
    assert window.session.prediction.probability == pytest.approx(expected.probability, abs=1e-5)
    assert window.inference.panel.demo.isVisible()  # the fixture model is a demo model
    assert "Lineage: adapted from base model (SHA-256 abababababab" in about_html(card)
    assert window.batch.factory.args == (adapted,)


def test_the_model_folder_is_remembered(qtbot, settings, fixture_model_dir, tmp_path, monkeypatch):
    monkeypatch.delenv("CXR_MODEL_DIR", raising=False)
    assert startup_model_dir(None, settings) is None
    settings.set_model_dir(fixture_model_dir)
    assert startup_model_dir(None, settings) == fixture_model_dir
    assert startup_model_dir(tmp_path, settings) == tmp_path  # --model wins
    monkeypatch.setenv("CXR_MODEL_DIR", str(tmp_path))
    assert startup_model_dir(None, settings) is None  # so does $CXR_MODEL_DIR
    monkeypatch.delenv("CXR_MODEL_DIR")
    settings.set_model_dir(tmp_path / "gone")
    assert startup_model_dir(None, settings) is None  # a folder that went away: default
    assert load_card(fixture_model_dir).is_demo


def test_faded_heatmap_is_said(qtbot, window, sample_without_report):
    open_and_wait(qtbot, window, sample_without_report)
    window.heatmap.action.trigger()
    prediction = window.session.prediction
    note = window.heatmap.note
    for target in ("abnormal", "normal"):
        window.heatmap.target_combo.setCurrentText(target)
        strength = evidence(prediction, target)
        if strength < 1.0:
            p = prediction.probability if target == "abnormal" else 1 - prediction.probability
            t = prediction.threshold if target == "abnormal" else 1 - prediction.threshold
            assert note.text() == (
                f"heatmap faded: P({target}) {percent(p)} is below the threshold {percent(t)}"
            )
        else:
            assert note.text() == ""
    assert {faded_text(prediction, t) == "" for t in ("abnormal", "normal")} == {True, False}
    window.heatmap.action.trigger()
    assert note.text() == ""


def test_no_model_then_open_one(qtbot, settings, tmp_path, fixture_model_dir):
    from functools import partial

    window = new_window(qtbot, settings, partial(load_model, tmp_path / "none"))
    assert window.session.card is None and not window.heatmap.action.isEnabled()
    window.model.open_folder(fixture_model_dir)
    qtbot.waitUntil(lambda: window.session.card is not None, timeout=WAIT_MS)
    assert window.session.model_error is None and window.heatmap.action.isEnabled()
