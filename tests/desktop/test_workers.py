"""Threads: the GUI never waits, stale results never land, threads stop on close."""

from __future__ import annotations

import subprocess
import sys
from functools import partial
from pathlib import Path

from desktop_helpers import WAIT_MS, SlowModel, new_window, open_and_wait
from PySide6.QtCore import QTimer

from cxr_desktop.workers.prediction import PredictService
from cxr_model.imaging.reader import read_image
from cxr_model.inference.predictor import load_model

ROOT = Path(__file__).resolve().parents[2]


def test_stale_prediction_never_lands_on_a_new_image(
    qtbot, settings, model_dir, fullres, sample_without_report
):
    slow = {}

    def factory():
        slow["model"] = SlowModel(model_dir, delay=1.5, slow={fullres.name})
        return slow["model"]

    window = new_window(qtbot, settings, factory)
    answered: list[int] = []
    window.inference.service.worker.predicted.connect(lambda rid, _p: answered.append(rid))
    open_and_wait(qtbot, window, fullres, result=False)
    qtbot.waitUntil(lambda: fullres.name in slow["model"].calls, timeout=WAIT_MS)
    open_and_wait(qtbot, window, sample_without_report, result=False)
    qtbot.waitUntil(lambda: len(answered) == 2, timeout=WAIT_MS)  # both ran; first is stale
    qtbot.wait(50)
    expected = read_image(sample_without_report).original_size
    assert window.session.study.path == sample_without_report
    assert window.session.prediction.image_size == expected
    assert read_image(fullres).original_size != expected


def test_service_drops_superseded_requests(qtbot, model_dir, fullres, sample_without_report):
    service = PredictService(lambda: SlowModel(model_dir, delay=1.0, slow={fullres.name}))
    try:
        with qtbot.waitSignal(service.model_ready, timeout=WAIT_MS):
            pass
        got = []
        service.predicted.connect(got.append)
        raw = []
        service.worker.predicted.connect(lambda rid, _p: raw.append(rid))
        service.predict(fullres, None)
        qtbot.wait(200)  # the slow request is now running in the worker
        second = service.predict(sample_without_report, "clear lungs")
        qtbot.waitUntil(lambda: second in raw, timeout=WAIT_MS)
        qtbot.wait(50)
        assert raw == [1, second]
        assert len(got) == 1 and got[0].used_report
        assert got[0].image_size == read_image(sample_without_report).original_size
    finally:
        service.shutdown()
    assert service.thread.isFinished()


def test_event_loop_runs_during_slow_prediction(qtbot, settings, model_dir, fullres):
    window = new_window(qtbot, settings, lambda: SlowModel(model_dir, delay=1.5))
    ticks = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(window.session.prediction is None))
    timer.start(20)
    open_and_wait(qtbot, window, fullres, result=False)
    assert window.session.prediction is None  # image shown, prediction still in flight
    qtbot.waitUntil(lambda: window.session.prediction is not None, timeout=WAIT_MS)
    timer.stop()
    assert sum(ticks) >= 5  # the GUI thread kept ticking while the model worked
    status = window.inference.panel.status
    assert "Predicting" in status.text() or status.isHidden()


def test_close_stops_threads_even_mid_prediction(qtbot, settings, model_dir, fullres):
    window = new_window(qtbot, settings, lambda: SlowModel(model_dir, delay=1.0))
    open_and_wait(qtbot, window, fullres, result=False)
    batch = window.batch.open_dialog()
    assert window.close()
    assert window.inference.service.thread.isFinished()
    assert window.files.reader.thread.isFinished()
    assert batch.thread.isFinished()


def test_no_model_startup(qtbot, settings, tmp_path, fullres):
    window = new_window(qtbot, settings, partial(load_model, tmp_path / "no-model"))
    assert window.session.card is None and window.session.model_error
    panel = window.inference.panel
    assert "No model installed" in panel.status.text()
    assert "cxr train" in panel.status.text()
    open_and_wait(qtbot, window, fullres)  # the viewer works without a model
    assert window.view.viewer.image_item.pixmap().width() == read_image(fullres).original_size[0]
    qtbot.keyClicks(window.report.editor.edit, "effusion")
    qtbot.wait(600)
    assert window.session.prediction is None
    assert panel.probability.isHidden() and panel.bar.isHidden()
    assert "%" not in panel.status.text()
    assert not window.heatmap.action.isEnabled()
    assert not window.export.json_action.isEnabled()
    about = window.help.show_about()
    qtbot.addWidget(about)
    assert "No model is installed" in about.browser.toPlainText()


def test_importing_the_app_does_not_import_torch():
    modules = sorted(
        f"cxr_desktop.{p.relative_to(ROOT / 'cxr_desktop').with_suffix('')}".replace("/", ".")
        for p in (ROOT / "cxr_desktop").rglob("*.py")
        if p.name != "__init__.py"
    )
    assert "cxr_desktop.features.inference" in modules
    code = f"import sys, {', '.join(modules)}; print('torch' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert out.stdout.strip() == "False"


def test_cli_arguments():
    from cxr_desktop.app import parse_args

    args = parse_args(["x.png", "--model", "m"])
    assert args.image == Path("x.png") and args.model == Path("m")
    assert parse_args([]).image is None
