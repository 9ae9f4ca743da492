"""Batch folder scan in the app: same CSV as `cxr scan`, streaming, cancel, rescan, errors."""

from __future__ import annotations

import csv
import os
import shutil
from pathlib import Path

import pytest
from desktop_helpers import WAIT_MS, SlowModel, showing
from PySide6.QtCore import Qt

from cxr_desktop.dialogs.batch_scan import COLUMNS, CSV_NAME, BatchScanDialog
from cxr_model.inference.scan import CsvSink, plan_scan, scan


@pytest.fixture
def scan_folder(tmp_path, sample_images, fullres_images) -> Path:
    """A few real X-rays, their .txt reports, and one corrupt file."""
    folder = tmp_path / "scan"
    folder.mkdir()
    for image in sample_images + fullres_images[:2]:
        shutil.copy(image, folder)
        if image.with_suffix(".txt").is_file():
            shutil.copy(image.with_suffix(".txt"), folder)
    (folder / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 50)
    return folder


@pytest.fixture
def make_dialog(qtbot, settings):
    dialogs = []

    def make(factory) -> BatchScanDialog:
        dialog = BatchScanDialog(factory, settings)
        qtbot.addWidget(dialog)
        dialogs.append(dialog)
        dialog.show()
        return dialog

    yield make
    for dialog in dialogs:
        dialog.shutdown()


def run_scan(qtbot, dialog: BatchScanDialog, folder: Path, csv_path: Path | None = None):
    dialog.folder_edit.setText(str(folder))
    if csv_path is not None:
        dialog.csv_edit.setText(str(csv_path))
    assert dialog.start()
    qtbot.waitUntil(lambda: not dialog.running, timeout=60_000)


def csv_rows(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_scan_matches_cxr_scan_and_rescan_skips(
    qtbot, make_dialog, factory, model, scan_folder, tmp_path
):
    dialog = make_dialog(factory)
    run_scan(qtbot, dialog, scan_folder)
    out = scan_folder / CSV_NAME
    assert dialog.csv_edit.text() == str(out)
    expected_csv = tmp_path / "expected.csv"
    sink = CsvSink(expected_csv)
    for row in scan(model, plan_scan(scan_folder)):
        sink.add(row)
    sink.close()
    assert out.read_text(encoding="utf-8") == expected_csv.read_text(encoding="utf-8")

    rows = csv_rows(out)
    files = sorted(
        p.name for p in scan_folder.iterdir() if p.suffix != ".txt" and p.name != CSV_NAME
    )
    assert sorted(r["file"] for r in rows) == files
    bad = next(r for r in rows if r["file"] == "corrupt.png")
    assert bad["error"] and not bad["probability"]
    assert any(r["used_report"] == "true" for r in rows)
    assert dialog.model.rowCount() == len(files)
    error_col = len(COLUMNS) - 1
    table_errors = [dialog.model.item(r, error_col).text() for r in range(len(files))]
    assert sum(bool(e) for e in table_errors) == 1
    assert dialog.status.text().startswith("Done")
    assert dialog.progress.value() == dialog.progress.maximum()

    run_scan(qtbot, dialog, scan_folder)  # rescan: only the failed file is tried again
    assert "skipped" in dialog.status.text()
    assert dialog._total == 1
    assert len(csv_rows(out)) == len(files) + 1


def test_table_sorts_filters_and_opens_a_study(qtbot, window, scan_folder, sample_with_report):
    dialog = window.batch.open_dialog()
    run_scan(qtbot, dialog, scan_folder)
    proxy = dialog.proxy
    dialog.table.sortByColumn(1, Qt.SortOrder.AscendingOrder)
    values = [proxy.index(r, 1).data(Qt.ItemDataRole.UserRole) for r in range(proxy.rowCount())]
    assert values == sorted(values)
    dialog.filter_edit.setText(sample_with_report.stem)
    assert proxy.rowCount() == 1
    index = proxy.index(0, 0)
    dialog.table.scrollTo(index)
    rect = dialog.table.visualRect(index)
    qtbot.mouseClick(dialog.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(dialog.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    target = scan_folder / sample_with_report.name
    qtbot.waitUntil(lambda: showing(window, target), timeout=WAIT_MS)
    assert window.report.editor.path == target.with_suffix(".txt")
    qtbot.waitUntil(lambda: window.session.prediction is not None, timeout=WAIT_MS)
    assert window.session.prediction.used_report


def test_cancel_stops_the_scan(qtbot, make_dialog, model_dir, tmp_path, shared_data):
    folder = tmp_path / "many"
    folder.mkdir()
    for image in sorted((shared_data / "cxr-pairs" / "images").glob("*.jpeg"))[:40]:
        shutil.copy(image, folder)
    dialog = make_dialog(lambda: SlowModel(model_dir, delay=0.3))
    dialog.folder_edit.setText(str(folder))
    assert dialog.start()
    qtbot.waitUntil(lambda: dialog.model.rowCount() > 0, timeout=WAIT_MS)
    dialog.cancel_button.click()
    qtbot.waitUntil(lambda: not dialog.running, timeout=WAIT_MS)
    assert dialog.status.text().startswith("Cancelled")
    scored = dialog.model.rowCount()
    assert 0 < scored < 40
    assert len(csv_rows(folder / CSV_NAME)) == scored
    assert dialog.start_button.isEnabled() and not dialog.cancel_button.isEnabled()


@pytest.mark.parametrize("where", ["under-a-file", "dev-null", "missing-folder", "a-folder"])
def test_unwritable_output_is_refused_before_scanning(
    qtbot, make_dialog, factory, scan_folder, tmp_path, where
):
    blocker = tmp_path / "regular-file"
    blocker.write_text("x")
    target = {
        "under-a-file": blocker / "out.csv",
        "dev-null": Path("/dev/null/out.csv"),
        "missing-folder": tmp_path / "nope" / "out.csv",
        "a-folder": tmp_path,
    }[where]
    dialog = make_dialog(factory)
    dialog.folder_edit.setText(str(scan_folder))
    dialog.csv_edit.setText(str(target))
    assert not dialog.start()
    assert not dialog.running
    assert "CSV" in dialog.status.text() or "folder" in dialog.status.text()
    assert dialog.model.rowCount() == 0


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes to read-only folders")
def test_read_only_folder_is_refused(qtbot, make_dialog, factory, scan_folder, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        dialog = make_dialog(factory)
        dialog.folder_edit.setText(str(scan_folder))
        dialog.csv_edit.setText(str(locked / "out.csv"))
        assert not dialog.start()
        assert "cannot write the CSV" in dialog.status.text()
    finally:
        locked.chmod(0o700)


def test_no_model_scan_fails_clearly(qtbot, make_dialog, scan_folder, tmp_path):
    from cxr_model.inference.predictor import load_model

    dialog = make_dialog(lambda: load_model(tmp_path / "no-model"))
    run_scan(qtbot, dialog, scan_folder)
    assert "Scan failed" in dialog.status.text() and "model" in dialog.status.text()
    assert dialog.start_button.isEnabled()


def test_missing_folder_is_refused(qtbot, make_dialog, factory, tmp_path):
    dialog = make_dialog(factory)
    dialog.folder_edit.setText(str(tmp_path / "absent"))
    assert not dialog.start()
    assert "is not a folder" in dialog.status.text()
