"""The model precision setting: saved between runs, used by the app's model, shown in About."""

from __future__ import annotations

import pytest
from desktop_helpers import new_window

from cxr_desktop.settings import AppSettings
from cxr_desktop.workers import model_factory


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


@pytest.mark.parametrize("precision", ["auto", "fp32"])
def test_window_runs_the_chosen_precision_and_about_says_it(qtbot, settings, model_dir,
                                                            precision):
    window = new_window(qtbot, settings, model_factory(model_dir, precision))
    model = window.service.predict_worker.model
    assert model.precision == ("fp32" if precision == "fp32"
                               else "fp32" if model.card.int8_unusable() else "int8")
    dialog = window.show_about()
    qtbot.addWidget(dialog)
    assert f"Runs at: {model.precision} precision" in dialog.browser.toPlainText()
