"""The PACS in the app, against the real Orthanc: Open from PACS (nodes, search, retrieve in
the background with progress and cancel, the first frontal image opens), Send result to
PACS, and a node that is down or never answers does not freeze the window."""

from __future__ import annotations

import time

import pydicom
import pytest
from desktop_helpers import WAIT_MS, open_and_wait, showing
from helpers_orthanc import (
    PACS_AET,
    SilentServer,
    free_port,
    missing_tools,
    storescu,
    write_study,
    xray_pixels,
)
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QDialog

from cxr_desktop.dialogs import pacs_dialog
from cxr_desktop.dialogs.pacs_nodes import NodeEditor


@pytest.fixture
def pacs_window(window, settings, orthanc, tmp_path):
    """The window, with the test Orthanc saved as a node and the cache in tmp_path."""
    if not storescu_available():
        pytest.skip("DCMTK storescu is not installed (apt-get install dcmtk)")
    settings.set_pacs_nodes(
        [
            {"name": "Test PACS", "address": orthanc.dimse},
            {"name": "Test PACS (DICOMweb)", "address": orthanc.web},
        ]
    )
    settings.set_pacs_timeout(3)
    window.pacs.cache_dir = tmp_path / "cache"
    return window


def storescu_available() -> bool:
    return not missing_tools("storescu")


def stored_study(orthanc, tmp_path, fullres_images, patient_id, views):
    files = write_study(
        tmp_path / patient_id, xray_pixels(fullres_images[0]), patient_id, views=views
    )
    assert storescu(orthanc.dicom_port, files).returncode == 0
    return [pydicom.dcmread(f, stop_before_pixels=True) for f in files]


def search(qtbot, dialog, patient_id: str) -> None:
    dialog.patient_id.setText(patient_id)
    qtbot.mouseClick(dialog.search_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.busy, timeout=WAIT_MS)


@pytest.mark.parametrize("node_index", [0, 1])
def test_search_retrieve_opens_the_first_frontal_image(
    qtbot, pacs_window, orthanc, tmp_path, fullres_images, node_index
):
    patient = f"CXRT-GUI-{node_index}"
    lateral, frontal = stored_study(
        orthanc, tmp_path, fullres_images, patient, (("CR", "LL"), ("CR", "PA"))
    )
    dialog = pacs_window.pacs.open_dialog()
    dialog.node_combo.setCurrentIndex(node_index)
    search(qtbot, dialog, patient)
    assert dialog.table.rowCount() == 1 and "1 study(ies) found" in dialog.status.text()
    assert dialog.table.item(0, 1).text() == patient
    assert dialog.table.item(0, 6).text() == "2"
    qtbot.mouseClick(dialog.retrieve_button, Qt.MouseButton.LeftButton)
    assert dialog.progress.isVisible() and dialog.cancel_button.isEnabled()
    expected = (
        pacs_window.pacs.cache_dir
        / frontal.StudyInstanceUID
        / frontal.SeriesInstanceUID
        / f"{frontal.SOPInstanceUID}.dcm"
    )
    qtbot.waitUntil(lambda: showing(pacs_window, expected), timeout=WAIT_MS)
    assert dialog.progress.maximum() == 2 and "Retrieved 2 instance(s)" in dialog.status.text()
    assert lateral.SOPInstanceUID not in str(pacs_window.session.study.path)


def test_a_study_without_frontal_image_opens_nothing(
    qtbot, pacs_window, orthanc, tmp_path, fullres_images
):
    stored_study(orthanc, tmp_path, fullres_images, "CXRT-GUI-LAT", (("CR", "LL"),))
    dialog = pacs_window.pacs.open_dialog()
    search(qtbot, dialog, "CXRT-GUI-LAT")
    qtbot.mouseClick(dialog.retrieve_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.busy, timeout=WAIT_MS)
    assert "none is a frontal chest X-ray" in dialog.status.text()
    assert pacs_window.session.study is None


def test_cancel_stops_the_retrieve_and_keeps_what_came(
    qtbot, pacs_window, orthanc, tmp_path, fullres_images
):
    views = tuple(("CR", "PA") for _ in range(12))
    stored_study(orthanc, tmp_path, fullres_images, "CXRT-GUI-CANCEL", views)
    dialog = pacs_window.pacs.open_dialog()
    search(qtbot, dialog, "CXRT-GUI-CANCEL")
    qtbot.mouseClick(dialog.retrieve_button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.busy, timeout=WAIT_MS)
    assert "cancelled" in dialog.status.text()
    assert pacs_window.session.study is None
    assert len(list(pacs_window.pacs.cache_dir.rglob("*.dcm"))) < 12


def ticks_while(qtbot, busy) -> int:
    """How often a 50 ms timer fired on the GUI thread while `busy()` was true."""
    count = [0]
    timer = QTimer()
    timer.timeout.connect(lambda: count.__setitem__(0, count[0] + 1))
    timer.start(50)
    qtbot.waitUntil(lambda: not busy(), timeout=WAIT_MS)
    timer.stop()
    return count[0]


def test_a_node_that_never_answers_does_not_freeze_the_window(qtbot, pacs_window, settings):
    server = SilentServer()
    try:
        settings.set_pacs_nodes(
            [{"name": "Silent", "address": f"{PACS_AET}@127.0.0.1:{server.port}"}]
        )
        dialog = pacs_window.pacs.open_dialog()
        dialog.node_combo.clear()
        dialog.node_combo.addItem("Silent", f"{PACS_AET}@127.0.0.1:{server.port}")
        start = time.monotonic()
        qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
        assert dialog.busy and not dialog.search_button.isEnabled()
        ticks = ticks_while(qtbot, lambda: dialog.busy)
        elapsed = time.monotonic() - start
    finally:
        server.close()
    assert ticks >= elapsed / 0.05 * 0.3  # the event loop kept running all along
    assert "no answer within 3 s" in dialog.status.text()
    assert dialog.search_button.isEnabled()


def test_a_node_that_is_down_says_what_to_check(qtbot, pacs_window):
    dialog = pacs_window.pacs.open_dialog()
    node = f"{PACS_AET}@127.0.0.1:{free_port()}"
    dialog.node_combo.addItem("Down", node)
    dialog.node_combo.setCurrentIndex(dialog.node_combo.count() - 1)
    qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.busy, timeout=WAIT_MS)
    assert f"cannot connect to {node}" in dialog.status.text()
    assert "check" in dialog.status.text()
    dialog.node_combo.setCurrentIndex(0)
    qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.busy, timeout=WAIT_MS)
    assert dialog.status.text().endswith("answers.")


def test_nodes_are_added_edited_removed_and_kept(qtbot, pacs_window, settings, monkeypatch):
    answers = iter([("New", "NEW@127.0.0.1:104"), ("Renamed", "https://pacs.example/dw")])

    class Scripted(NodeEditor):
        def exec(self):
            name, address = next(answers)
            self.name_edit.setText(name)
            self.address_edit.setText(address)
            self.accept()
            return QDialog.DialogCode.Accepted

    monkeypatch.setattr(pacs_dialog, "NodeEditor", Scripted)
    dialog = pacs_window.pacs.open_dialog()
    dialog.add_node()
    assert settings.pacs_nodes()[-1] == {"name": "New", "address": "NEW@127.0.0.1:104"}
    dialog.edit_node()
    assert settings.pacs_nodes()[-1] == {"name": "Renamed", "address": "https://pacs.example/dw"}
    dialog.remove_node()
    assert [n["name"] for n in settings.pacs_nodes()] == ["Test PACS", "Test PACS (DICOMweb)"]


def test_the_node_editor_refuses_a_bad_address(qtbot):
    editor = NodeEditor(None, "x", "ORTHANC@localhost")
    qtbot.addWidget(editor)
    editor.accept()
    assert editor.result() != QDialog.DialogCode.Accepted
    assert "not a node" in editor.problem.text()


def test_bad_search_fields_are_refused_without_a_query(qtbot, pacs_window):
    dialog = pacs_window.pacs.open_dialog()
    dialog.study_date.setText("14/03/2025")
    qtbot.mouseClick(dialog.search_button, Qt.MouseButton.LeftButton)
    assert not dialog.busy and "not a study date" in dialog.status.text()


def test_send_result_to_pacs(qtbot, pacs_window, orthanc, tmp_path, fullres_images):
    [source] = write_study(tmp_path / "send", xray_pixels(fullres_images[1]), "CXRT-GUI-SEND")
    assert storescu(orthanc.dicom_port, [source]).returncode == 0
    assert not pacs_window.pacs.send_button.isEnabled()
    open_and_wait(qtbot, pacs_window, source)
    assert pacs_window.pacs.send_button.isEnabled()
    pacs_window.pacs.send_to(orthanc.dimse)
    assert not pacs_window.pacs.send_button.isEnabled()  # one send at a time
    qtbot.waitUntil(lambda: pacs_window.pacs.send_button.isEnabled(), timeout=WAIT_MS)
    uid = pydicom.dcmread(source).StudyInstanceUID
    assert orthanc.series_modalities(uid) == ["CR", "OT", "SR"]


def test_send_is_off_for_an_image_that_is_not_dicom(qtbot, pacs_window, sample_images):
    open_and_wait(qtbot, pacs_window, next(p for p in sample_images if p.suffix == ".jpeg"))
    assert not pacs_window.pacs.send_button.isEnabled()


def test_batch_scan_takes_a_pacs_query_as_its_source(
    qtbot, pacs_window, orthanc, tmp_path, fullres_images
):
    from cxr_desktop.dialogs.batch_scan import PACS_CSV_NAME, PATH_ROLE
    from cxr_model.dicom_net.instances import PACS_FIELDS
    from cxr_model.inference.scan import read_rows

    lateral, frontal = stored_study(
        orthanc, tmp_path, fullres_images, "CXRT-GUI-BATCH", (("CR", "LL"), ("CR", "PA"))
    )
    dialog = pacs_window.batch.open_dialog()
    dialog.source.setCurrentIndex(1)
    assert dialog.pacs_box.isVisibleTo(dialog) and not dialog.recursive.isVisibleTo(dialog)
    dialog.pacs_patient.setText("CXRT-GUI-BATCH")
    dialog.folder_edit.setText(str(tmp_path / "kept"))
    assert dialog.start()
    qtbot.waitUntil(lambda: not dialog.running, timeout=WAIT_MS)
    assert dialog.model.rowCount() == 2, dialog.status.text()
    rows = {r["sop_uid"]: r for r in read_rows(tmp_path / "kept" / PACS_CSV_NAME, PACS_FIELDS)}
    assert rows[frontal.SOPInstanceUID]["label"] in ("normal", "abnormal")
    assert rows[lateral.SOPInstanceUID]["error"].startswith("not scored: lateral view")
    paths = [dialog.model.item(r, 0).data(PATH_ROLE) for r in range(2)]
    assert all((tmp_path / "kept").joinpath(p).is_file() for p in paths)
    # a rerun finds the study done: nothing is retrieved or scored again
    assert dialog.start()
    qtbot.waitUntil(lambda: not dialog.running, timeout=WAIT_MS)
    assert "1 skipped" in dialog.status.text()
    assert len(read_rows(tmp_path / "kept" / PACS_CSV_NAME, PACS_FIELDS)) == 2
