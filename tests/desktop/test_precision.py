"""The model precision setting: saved between runs, used by the app's model, switched from the
Model menu, shown in About."""

from __future__ import annotations

import pytest
from desktop_helpers import WAIT_MS, new_window

from cxr_desktop.model_factory import model_factory
from cxr_desktop.settings import AppSettings


def test_precision_setting_is_kept_and_checked(tmp_path):
    settings = AppSettings(tmp_path / "s.ini")
    assert settings.precision() == "auto"
    settings.set_precision("fp32")
    settings.sync()
    assert AppSettings(tmp_path / "s.ini").precision() == "fp32"
    with pytest.raises(ValueError):
        settings.set_precision("fp16")
    settings.store.setValue("model/precision", "bogus")  # a hand-edited file
    assert settings.precision() == "auto"


def _auto_precision(card) -> str:
    return "fp32" if card.int8_unusable() else "int8"


@pytest.mark.parametrize("precision", ["auto", "fp32"])
def test_window_runs_the_chosen_precision_and_about_says_it(qtbot, settings, model_dir, precision):
    window = new_window(qtbot, settings, model_factory(model_dir, precision))
    model = window.inference.service.worker.model
    [card] = model.cards  # one folder, forced
    assert model.precision == ("fp32" if precision == "fp32" else _auto_precision(card))
    dialog = window.help.show_about()
    qtbot.addWidget(dialog)
    assert f"Runs at: {model.precision} precision" in dialog.browser.toPlainText()


def test_full_precision_menu_reloads_the_model_and_is_remembered(qtbot, settings, model_dir):
    window = new_window(qtbot, settings, model_factory(model_dir, settings.precision()))
    service = window.inference.service
    auto = _auto_precision(window.session.card)
    assert not window.model.fp32_action.isChecked() and service.precision == auto

    window.model.fp32_action.setChecked(True)
    qtbot.waitUntil(
        lambda: window.batch.factory.keywords == {"precision": "fp32"}, timeout=WAIT_MS
    )  # set once the worker has switched
    assert service.precision == "fp32" and settings.precision() == "fp32"
    assert window.session.card.directory == model_dir

    window.model.fp32_action.setChecked(False)
    qtbot.waitUntil(lambda: window.batch.factory.keywords == {"precision": "auto"}, timeout=WAIT_MS)
    assert service.precision == auto and settings.precision() == "auto"
