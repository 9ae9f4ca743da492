"""The Worklist panel driven with a real listener in the app fed by DCMTK storescu: triage
order, live arrival with a notification, sorting, opening a study, a verdict given and
changed by its shortcuts, the statistics view; and a followed folder that disappears."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from desktop_helpers import new_window, open_and_wait
from helpers_orthanc import free_port, missing_tools, storescu, write_study, xray_pixels
from PySide6.QtCore import Qt

from cxr_desktop.settings import AppSettings
from cxr_model.feedback.store import ENV_DB, FeedbackStore
from cxr_model.pacs.listener import Listener
from cxr_model.vocabulary import Truth
from cxr_model.worklist.store import read_worklist

WAIT_MS = 60_000
ROOT = Path(__file__).resolve().parents[2]
AET = "CXRAPPLISTEN"


@pytest.fixture(autouse=True)
def verdicts_db(tmp_path, monkeypatch):
    path = tmp_path / "verdicts.sqlite"
    monkeypatch.setenv(ENV_DB, str(path))
    return path


@pytest.fixture
def storescu_tool():
    if missing_tools("storescu"):
        pytest.skip("DCMTK is not installed (apt-get install dcmtk)")


@pytest.fixture
def studies(model, fullres_images, tmp_path):
    """A study the model calls abnormal (PA + lateral), one it does not, one lateral only."""
    found: dict[str, list] = {}
    for number, image in enumerate(fullres_images[:10]):
        files = write_study(
            tmp_path / f"s{number}", xray_pixels(image), f"CXRT-APP-{number}", (("CR", "PA"),)
        )
        reading = model.predict(files[0]).reading
        key = "abnormal" if reading == "abnormal" else "other"
        if key not in found:
            views = (("CR", "PA"), ("CR", "LL")) if key == "abnormal" else (("DX", "AP"),)
            found[key] = write_study(
                tmp_path / f"{key}", xray_pixels(image), f"CXRT-APP-{key.upper()}", views
            )
    assert set(found) == {"abnormal", "other"}, "the model called none (or all) abnormal"
    found["lateral"] = write_study(
        tmp_path / "lateral", xray_pixels(fullres_images[0]), "CXRT-APP-LAT", (("CR", "LL"),)
    )
    return found


def test_worklist_with_the_apps_listener(window, qtbot, studies, storescu_tool, tmp_path):
    feature, panel = window.worklist, window.worklist.panel
    folder, port = tmp_path / "received", free_port()
    feature.start_receiving(folder, port, AET, ["LOADER"])
    qtbot.waitUntil(feature.stop_action.isEnabled, timeout=WAIT_MS)
    assert window.worklist.dock.isVisible()

    assert storescu(port, studies["other"] + studies["lateral"], called=AET).returncode == 0
    qtbot.waitUntil(lambda: len(panel.rows) == 2, timeout=WAIT_MS)
    assert not panel.banner.isVisible()
    assert [r.patient for r in panel.shown()] == ["Test CXRT-APP-OTHER", "Test CXRT-APP-LAT"]
    assert panel.text_of(panel.shown()[1].study_uid, "Label").startswith("no label: not scored")

    # live arrival of an abnormal study: first in the list, and a notification
    assert storescu(port, studies["abnormal"], called=AET).returncode == 0
    qtbot.waitUntil(lambda: len(panel.rows) == 3, timeout=WAIT_MS)
    first = panel.shown()[0]
    assert first.patient == "Test CXRT-APP-ABNORMAL" and first.images == 2
    assert panel.banner.isVisible() and "Abnormal study received" in panel.banner.text()
    assert [r.study_uid for r in panel.shown()] == [r.study_uid for r in read_worklist(folder)]

    # sortable by any column, and back to triage order by "#"
    panel.table.sortByColumn(2, Qt.SortOrder.AscendingOrder)  # patient
    names = [r.patient for r in panel.shown()]
    assert names == sorted(names)
    panel.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
    assert panel.shown()[0] == first

    # open a row: its study in the study panel, the scored image in the viewer and scored
    item = panel.table.item(0, 1)
    panel.table.scrollToItem(item)
    rect = panel.table.visualItemRect(item)
    qtbot.mouseClick(panel.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(panel.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    image = folder / first.image
    qtbot.waitUntil(
        lambda: window.session.study is not None and window.session.study.path == image,
        timeout=WAIT_MS,
    )
    qtbot.waitUntil(lambda: window.session.prediction is not None, timeout=WAIT_MS)
    assert len(window.study.panel.images) == 2 and window.study.dock.isVisible()
    assert window.session.prediction.label == "abnormal"

    # a verdict by its shortcut, then changed: the worklist shows it, the history keeps both
    window.activateWindow()
    qtbot.keyClick(window, Qt.Key.Key_Y)
    qtbot.waitUntil(
        lambda: panel.text_of(first.study_uid, "Verdict") == "abnormal (agrees)", timeout=WAIT_MS
    )
    assert "abnormal (agrees)" in window.verdict.panel.state.text()
    qtbot.keyClick(window, Qt.Key.Key_G, Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(
        lambda: panel.text_of(first.study_uid, "Verdict") == "ungradable", timeout=WAIT_MS
    )
    store = FeedbackStore()
    history = store.history()
    store.close()
    assert [v.truth for v in history] == ["abnormal", "ungradable"]
    assert {v.sop_uid for v in history} == {first.sop_uid}
    assert history[0].ai_label == "abnormal" and history[0].model == window.session.card.name

    keys = [a.shortcut().toString() for a in window.verdict.truth_actions.values()]
    keys += [window.verdict.agree_action.shortcut().toString()]
    keys += [window.verdict.disagree_action.shortcut().toString()]
    assert len(set(keys)) == 5 and "" not in keys

    dialog = window.verdict.show_stats()
    qtbot.waitUntil(lambda: dialog.table.rowCount() == 1, timeout=WAIT_MS)
    assert dialog.table.item(0, 2).text() == "1" and dialog.table.item(0, 6).text() == "1"

    # closing the window stops the listener: the port is free again
    window.close()
    assert window.worklist.service.listener.listener is None
    with socket.socket() as sock:  # no socket listens there (connections may linger)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))


def test_followed_folder_that_disappears_shows_why_and_recovers(
    window, qtbot, model, studies, storescu_tool, tmp_path
):
    folder = tmp_path / "listened"
    folder.mkdir()
    listener = Listener(model, folder, free_port(), aet=AET, bind="127.0.0.1")
    listener.start()
    try:
        assert storescu(listener.port, studies["other"], called=AET).returncode == 0
        qtbot.waitUntil(lambda: listener.counts["rows"] == 1, timeout=WAIT_MS)
    finally:
        listener.stop()
    panel = window.worklist.panel
    window.worklist.follow(folder)
    qtbot.waitUntil(lambda: len(panel.rows) == 1, timeout=WAIT_MS)
    moved = folder.rename(tmp_path / "elsewhere")
    qtbot.waitUntil(lambda: "Cannot read the worklist now" in panel.title.text(), timeout=WAIT_MS)
    assert "missing" in panel.title.text() and len(panel.rows) == 1  # the last list is kept
    moved.rename(folder)
    qtbot.waitUntil(lambda: panel.title.text().startswith("1 study in"), timeout=WAIT_MS)
    assert window.settings.worklist_folder() == folder


def test_damaged_verdicts_database_and_busy_port_are_messages(
    window, qtbot, verdicts_db, sample_images, tmp_path
):
    verdicts_db.write_bytes(b"not a database" * 200)
    open_and_wait(qtbot, window, sample_images[0])
    window.verdict.truth_actions[Truth.NORMAL].trigger()
    qtbot.waitUntil(lambda: "damaged" in window.verdict.panel.state.text(), timeout=WAIT_MS)
    assert window.message.isVisible() and str(verdicts_db) in window.message.text()
    assert verdicts_db.read_bytes().startswith(b"not a database")  # left as it was

    with socket.socket() as busy:
        busy.bind(("", 0))
        busy.listen()
        port = busy.getsockname()[1]
        window.worklist.start_receiving(tmp_path / "received", port, AET, None)
        qtbot.waitUntil(lambda: "cannot listen on port" in window.message.text(), timeout=WAIT_MS)
    assert window.worklist.receive_action.isEnabled()
    assert not window.worklist.stop_action.isEnabled()


def test_two_windows_and_the_cli_at_once_lose_no_verdict(
    qtbot, tmp_path, factory, model_dir, sample_images, verdicts_db
):
    windows = [new_window(qtbot, AppSettings(tmp_path / f"w{n}.ini"), factory) for n in (1, 2)]
    for window, image in zip(windows, sample_images[:2], strict=True):
        open_and_wait(qtbot, window, image)
    cli = subprocess.Popen(
        [sys.executable, "-m", "cxr_model.cli", "--model", str(model_dir), "feedback", "add",
         str(sample_images[2]), "--label", "abnormal"],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    truths = (Truth.NORMAL, Truth.ABNORMAL, Truth.UNGRADABLE)
    for _ in range(5):  # both windows give and change verdicts while the CLI writes
        for truth in truths:
            for window in windows:
                window.verdict.truth_actions[truth].trigger()
    out, err = cli.communicate(timeout=120)
    assert cli.returncode == 0, err
    expected = 2 * 5 * len(truths) + 1

    def kept() -> int:
        store = FeedbackStore(verdicts_db)
        try:
            return len(store.history())
        finally:
            store.close()

    qtbot.waitUntil(lambda: kept() == expected, timeout=WAIT_MS)
    store = FeedbackStore(verdicts_db)
    current = {Path(v.image).name: v.truth for v in store.current()}
    store.close()
    assert current == {
        sample_images[0].name: "ungradable",
        sample_images[1].name: "ungradable",
        sample_images[2].name: "abnormal",
    }


def test_receive_dialog_takes_its_values_from_the_settings_and_checks_them(
    qtbot, settings, tmp_path
):
    from cxr_desktop.dialogs.receive_dialog import ReceiveDialog

    settings.set_receive_settings(11200, "SITEAPP", "PACS1,PACS2", str(tmp_path / "in"))
    dialog = ReceiveDialog(settings.receive_settings(), tmp_path / "default")
    qtbot.addWidget(dialog)
    assert dialog.values() == (tmp_path / "in", 11200, "SITEAPP", ["PACS1", "PACS2"])
    dialog.aet.setText("BAD\\AET")
    dialog._accept()
    assert "not an AE title" in dialog.problem.text() and dialog.result() == 0
    dialog.aet.setText("GOOD")
    dialog.allow.setText("")
    dialog._accept()
    assert dialog.result() == 1 and dialog.values()[2:] == ("GOOD", None)
