"""The app with two models: each image answered by the model chosen for it, and said so (result
panel, study panel, About, window title). The models folder is tests/helpers_models.py's."""

from __future__ import annotations

from functools import partial

import pytest
from desktop_helpers import WAIT_MS, new_window, open_and_wait
from helpers_dicom import make_dicom
from helpers_models import two_models

from cxr_desktop.panels.result_panel import populations_text, track_record_text
from cxr_model.inference.router import load_models


@pytest.fixture(scope="module")
def models_dir(model_dir, tmp_path_factory):
    return two_models(model_dir, tmp_path_factory.mktemp("models"))


@pytest.fixture
def two_model_window(qtbot, settings, models_dir):
    return new_window(qtbot, settings, partial(load_models, models_dir))


@pytest.fixture
def aged_study(tmp_path, sample_images):
    """One study folder: the same X-ray as a 45-year-old's, a 3-year-old's, a 12-year-old's."""
    folder = tmp_path / "study"
    folder.mkdir()
    common = {"StudyInstanceUID": "1.2.826.0.1.3680043.8.498.1", "ViewPosition": "PA"}
    return {
        age: make_dicom(sample_images[0], folder / f"{age}.dcm", PatientAge=age, **common)
        for age in ("045Y", "003Y", "012Y")
    }


def test_the_result_panel_says_which_model_answered(qtbot, two_model_window, aged_study):
    window = two_model_window
    assert [card.short_name for card in window.session.cards] == ["adult", "paediatric"]
    assert "models: adult, paediatric" in window.windowTitle()
    panel = window.inference.panel
    open_and_wait(qtbot, window, aged_study["045Y"])
    assert window.session.prediction.model.startswith("adult ")
    assert panel.answered.text().startswith("Answered by the adult model")
    assert "chosen by the patient's age" in panel.answered.text()
    assert window.session.card.short_name == "adult"  # the card of the model that answered
    record = track_record_text(window.session.card)  # its own test figures, from its card
    assert panel.track_record.text() == record and panel.track_record.isVisible() == bool(record)
    figures = window.session.card.data.get("metrics", {}).get("test", {}).get("image")
    if figures:
        assert f"({figures['n']} X-rays, image only): AUC {figures['auc']:.2f}" in record
    open_and_wait(qtbot, window, aged_study["003Y"])
    qtbot.waitUntil(
        lambda: window.session.prediction.model.startswith("paediatric "), timeout=WAIT_MS
    )
    assert panel.answered.text().startswith("Answered by the paediatric model")
    assert window.session.card.short_name == "paediatric"
    assert panel.population.text() == populations_text([window.session.card])
    open_and_wait(qtbot, window, aged_study["012Y"])
    qtbot.waitUntil(lambda: not window.session.prediction.has_label, timeout=WAIT_MS)
    assert "every installed model's training population" in panel.population_warning.text()
    assert "no installed model covers the patient's age" in panel.answered.text()
    assert not panel.track_record.isVisible()  # no label: no figures to lean on


def test_about_lists_every_model(qtbot, two_model_window):
    dialog = two_model_window.help.show_about()
    qtbot.addWidget(dialog)
    text = dialog.browser.toPlainText()
    assert "The adult model" in text and "The paediatric model" in text
    assert "population detectors" in text


def test_the_study_panel_scores_each_image_with_its_model(qtbot, two_model_window, aged_study):
    study = two_model_window.study
    study.show_folder(aged_study["045Y"].parent)
    panel = study.panel
    qtbot.waitUntil(
        lambda: (
            len(panel.images) == 3 and all("%" in panel.status_of(p) for p in aged_study.values())
        ),
        timeout=WAIT_MS,
    )
    assert panel.status_of(aged_study["045Y"]).endswith("· adult")
    assert panel.status_of(aged_study["003Y"]).endswith("· paediatric")
    assert "no label" in panel.status_of(aged_study["012Y"])
    tip = panel.images[aged_study["045Y"]][0].toolTip(0)
    assert "Answered by the adult model" in tip


def test_a_forced_folder_stays_forced_when_the_precision_changes(
    qtbot, settings, models_dir, monkeypatch
):
    """One of several installed models opened alone stays the only one after Full precision."""
    from cxr_desktop.model_factory import model_factory

    monkeypatch.setenv("CXR_MODELS_DIR", str(models_dir))
    window = new_window(qtbot, settings, model_factory(models_dir / "paediatric"))
    window.model.fp32_action.setChecked(True)
    qtbot.waitUntil(lambda: window.inference.service.precision == "fp32", timeout=WAIT_MS)
    assert [card.short_name for card in window.session.cards] == ["paediatric"]
    window.model.fp32_action.setChecked(False)
    qtbot.waitUntil(lambda: window.inference.service.precision != "fp32", timeout=WAIT_MS)
    assert [card.short_name for card in window.session.cards] == ["paediatric"]
