"""The main window driven like a user: open, read, predict, heatmap, window/level, export."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from desktop_helpers import (
    WAIT_MS,
    new_window,
    open_and_wait,
    qimage_array,
    showing,
    used_report,
)
from PIL import Image
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QWheelEvent
from PySide6.QtWidgets import QApplication, QMessageBox

from cxr_desktop.dialogs.about import about_html
from cxr_desktop.settings import AppSettings
from cxr_model import NOT_A_DEVICE
from cxr_model.imaging.reader import read_image
from cxr_model.inference.overlay import blend, colorize
from cxr_model.text.report import read_report

Button = QMessageBox.StandardButton


def test_open_fullres_shows_full_resolution_and_a_result(qtbot, window, fullres, model):
    open_and_wait(qtbot, window, fullres)
    full = read_image(fullres)
    pixmap = window.view.viewer.image_item.pixmap()
    assert (pixmap.width(), pixmap.height()) == full.original_size
    assert max(full.original_size) > 224  # the display is not the model input
    assert np.array_equal(window.view.viewer.image.pixels, full.pixels)
    expected = model.predict(fullres, None)
    assert window.session.prediction.probability == pytest.approx(expected.probability, abs=1e-5)
    panel = window.inference.panel
    assert panel.probability.text().endswith(f"{100 * expected.probability:.1f}%")
    shown = "uncertain" if expected.uncertain else expected.label.upper()
    assert shown in panel.label.text()
    assert "No report used" in panel.note.text()
    assert "ms" in panel.latency.text()
    assert panel.disclaimer.text() == NOT_A_DEVICE and panel.disclaimer.isVisible()
    assert panel.demo.isVisible() == model.card.is_demo
    assert fullres.name in window.windowTitle()


def test_report_beside_image_loads_and_is_used(qtbot, window, sample_with_report, model):
    open_and_wait(qtbot, window, sample_with_report)
    report_file = sample_with_report.with_suffix(".txt")
    assert window.report.editor.text() == read_report(report_file)
    assert window.report.editor.path == report_file and not window.report.editor.is_modified()
    assert window.session.prediction.used_report
    expected = model.predict(sample_with_report, read_report(report_file))
    assert window.session.prediction.probability == pytest.approx(expected.probability, abs=1e-5)
    assert window.session.prediction.text_probability == pytest.approx(
        expected.text_probability, abs=1e-5
    )
    assert "Report only" in window.inference.panel.text_only.text()


def test_typing_a_report_reruns_the_prediction(qtbot, window, sample_without_report, model):
    open_and_wait(qtbot, window, sample_without_report)
    assert not window.session.prediction.used_report
    report = "right lower lobe opacity consistent with pneumonia"
    qtbot.keyClicks(window.report.editor.edit, report)
    qtbot.waitUntil(lambda: used_report(window) is True, timeout=WAIT_MS)
    expected = model.predict(sample_without_report, report)
    assert window.session.prediction.probability == pytest.approx(expected.probability, abs=1e-5)
    assert window.report.editor.is_modified()
    window.report.editor.edit.clear()
    qtbot.waitUntil(lambda: used_report(window) is False, timeout=WAIT_MS)
    assert "No report used" in window.inference.panel.note.text()


def test_heatmap_overlay(qtbot, window, fullres, model):
    open_and_wait(qtbot, window, fullres)
    overlay = window.view.viewer.overlay_item
    assert not overlay.isVisible()
    window.heatmap.action.trigger()
    qtbot.waitUntil(overlay.isVisible, timeout=WAIT_MS)
    side = model.spec.size  # the small map, scaled onto the image when painted
    assert (overlay.pixmap().width(), overlay.pixmap().height()) == (side, side)
    assert overlay.sceneBoundingRect() == window.view.viewer.image_item.sceneBoundingRect()
    heat = window.heatmap.heat["abnormal"]
    expected = model.heatmap(window.session.prediction, "abnormal", full_size=False)
    assert np.allclose(heat, expected, atol=1e-5)

    window.heatmap.opacity_slider.setValue(100)
    rgba = qimage_array(overlay.pixmap().toImage())
    assert np.abs(rgba[..., 3].astype(int) - np.round(heat * 255)).max() <= 1
    hot = heat > 0.995
    assert hot.any()
    assert np.abs(rgba[..., :3][hot].astype(int) - colorize(heat)[hot]).max() <= 1
    window.heatmap.opacity_slider.setValue(30)
    rgba = qimage_array(overlay.pixmap().toImage())
    assert np.abs(rgba[..., 3].astype(int) - np.round(0.3 * heat * 255)).max() <= 1

    window.heatmap.target_combo.setCurrentText("normal")
    qtbot.waitUntil(lambda: "normal" in window.heatmap.heat, timeout=WAIT_MS)
    assert window.view.viewer.heat is window.heatmap.heat["normal"]
    assert not np.allclose(window.heatmap.heat["normal"], heat)

    window.view.viewer.zoom_in()  # the overlay is in the scene: it follows zoom and pan
    assert overlay.sceneBoundingRect() == window.view.viewer.image_item.sceneBoundingRect()
    window.heatmap.action.trigger()
    assert not overlay.isVisible()


def test_window_level_presets_and_invert_change_pixels(qtbot, window, fullres):
    open_and_wait(qtbot, window, fullres, result=False)
    viewer = window.view.viewer
    default = viewer.gray.copy()
    window.view.apply_preset("Bone")
    bone = viewer.gray.copy()
    assert not np.array_equal(bone, default)
    assert viewer.window != viewer.image.window
    window.view.invert_action.trigger()
    assert np.array_equal(viewer.gray, 255 - bone)
    window.view.invert_action.trigger()
    window.view.reset_window_action.trigger()
    assert np.array_equal(viewer.gray, default)
    shown = qimage_array(viewer.image_item.pixmap().toImage())[..., 0]
    assert np.array_equal(shown, default)


def test_window_level_by_right_drag(qtbot, window, fullres):
    open_and_wait(qtbot, window, fullres, result=False)
    viewer = window.view.viewer
    before, gray = viewer.window, viewer.gray.copy()
    port = viewer.viewport()
    qtbot.mousePress(port, Qt.MouseButton.RightButton, pos=QPoint(100, 100))
    qtbot.mouseMove(port, QPoint(180, 60))
    qtbot.mouseRelease(port, Qt.MouseButton.RightButton, pos=QPoint(180, 60))
    center, width = viewer.window
    assert width > before[1] and center > before[0]
    assert not np.array_equal(viewer.gray, gray)
    assert "W " in window.view.window_label.text()


def test_sixteen_bit_dicom_is_windowed_at_full_depth(qtbot, window, fullres, tmp_path):
    from helpers_dicom import make_dicom

    gray = np.asarray(Image.open(fullres).convert("L"), dtype=np.uint16) * 16  # 12-bit range
    path = make_dicom(gray, tmp_path / "study.dcm", bits=12)
    open_and_wait(qtbot, window, path)
    assert window.view.viewer.image.pixels.dtype == np.uint16
    assert window.view.viewer.image.pixels.max() > 255
    window.view.apply_preset("Lung")
    lung = window.view.viewer.gray.copy()
    window.view.apply_preset("Bone")
    assert not np.array_equal(lung, window.view.viewer.gray)


def test_zoom_fit_and_actual_size(qtbot, window, fullres):
    open_and_wait(qtbot, window, fullres, result=False)
    viewer = window.view.viewer
    fitted = viewer.scale_factor()
    visible = viewer.mapFromScene(viewer.image_item.sceneBoundingRect()).boundingRect()
    assert viewer.viewport().rect().adjusted(-2, -2, 2, 2).contains(visible)
    window.view.zoom_in_action.trigger()
    assert viewer.scale_factor() > fitted
    window.view.zoom_out_action.trigger()
    window.view.zoom_out_action.trigger()
    assert viewer.scale_factor() < fitted
    window.view.actual_action.trigger()
    assert viewer.scale_factor() == pytest.approx(1.0)
    center = QPointF(viewer.viewport().rect().center())
    wheel = QWheelEvent(
        center,
        viewer.viewport().mapToGlobal(center),
        QPoint(0, 0),
        QPoint(0, 120),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(viewer.viewport(), wheel)
    assert viewer.scale_factor() > 1.0
    window.view.fit_action.trigger()
    assert viewer.scale_factor() == pytest.approx(fitted)


def drop(target, paths: list[Path]) -> bool:
    """Drag `paths` over `target` and drop them; returns whether the drag was accepted."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    pos = QPointF(target.rect().center())
    enter = QDragEnterEvent(
        pos,
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(target, enter)
    if not enter.isAccepted():
        return False
    event = QDropEvent(
        pos,
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(target, event)
    return event.isAccepted()


def test_drag_and_drop_image_and_report(qtbot, window, fullres, study_copy, tmp_path):
    assert drop(window.view.viewer.viewport(), [fullres])
    qtbot.waitUntil(lambda: showing(window, fullres), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: window.session.prediction is not None, timeout=WAIT_MS)
    assert not window.session.prediction.used_report

    report = tmp_path / "dropped.txt"
    report.write_text("large left pleural effusion", encoding="utf-8")
    assert drop(window, [report])  # a .txt dropped on the window loads as the report
    assert window.report.editor.text() == "large left pleural effusion"
    qtbot.waitUntil(lambda: used_report(window) is True, timeout=WAIT_MS)

    other = tmp_path / "other.txt"
    other.write_text("no acute disease", encoding="utf-8")
    # on the editor: loads, no URL pasted
    assert drop(window.report.editor.edit.viewport(), [other])
    assert window.report.editor.text() == "no acute disease"

    mime_text = QMimeData()
    mime_text.setText("just text")
    enter = QDragEnterEvent(
        QPointF(5, 5),
        Qt.DropAction.CopyAction,
        mime_text,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(window.view.viewer.viewport(), enter)
    assert not enter.isAccepted()

    assert drop(window.view.viewer.viewport(), [study_copy])  # the report beside it comes along
    qtbot.waitUntil(lambda: window.session.study.path == study_copy, timeout=WAIT_MS)
    assert window.report.editor.path == study_copy.with_suffix(".txt")


def test_unsaved_report_prompt(qtbot, window, study_copy, fullres, monkeypatch):
    open_and_wait(qtbot, window, study_copy)
    report_file = study_copy.with_suffix(".txt")
    original = window.report.editor.text()
    assert original == read_report(report_file)
    qtbot.keyClicks(window.report.editor.edit, " ADDED FINDING")
    assert window.report.editor.is_modified()
    asked = []

    def answer(button):
        def ask():
            asked.append(button)
            return button

        return ask

    monkeypatch.setattr(window.report, "ask_save_changes", answer(Button.Cancel))
    assert not window.files.open_image(fullres)
    assert not window.report.open_report(report_file)
    assert window.session.study.path == study_copy
    assert window.report.editor.text().endswith("ADDED FINDING")
    assert not window.close() and window.isVisible()
    assert len(asked) == 3

    monkeypatch.setattr(window.report, "ask_save_changes", answer(Button.Save))
    open_and_wait(qtbot, window, fullres)
    assert report_file.read_text(encoding="utf-8") == original + " ADDED FINDING"
    assert window.report.editor.text() == "" and not window.report.editor.is_modified()

    qtbot.keyClicks(window.report.editor.edit, "typed but thrown away")
    monkeypatch.setattr(window.report, "ask_save_changes", answer(Button.Discard))
    open_and_wait(qtbot, window, study_copy)
    assert window.report.editor.text() == original + " ADDED FINDING"
    assert len(asked) == 5


def test_save_report_as(qtbot, window, sample_without_report, tmp_path, monkeypatch):
    open_and_wait(qtbot, window, sample_without_report)
    qtbot.keyClicks(window.report.editor.edit, "heart size normal")
    target = tmp_path / "saved.txt"
    monkeypatch.setattr(
        "cxr_desktop.features.report.QFileDialog.getSaveFileName", lambda *a, **k: (str(target), "")
    )
    window.report.save_action.trigger()  # no file yet: save goes through "save as"
    assert target.read_text(encoding="utf-8") == "heart size normal"
    assert not window.report.editor.is_modified() and window.report.editor.path == target
    assert "saved.txt" in window.report.editor.title.text()


def test_export_png_and_json(qtbot, window, fullres, tmp_path, model):
    open_and_wait(qtbot, window, fullres)
    window.heatmap.action.trigger()
    qtbot.waitUntil(window.view.viewer.overlay_item.isVisible, timeout=WAIT_MS)
    png = tmp_path / "view.png"
    assert window.export.export_image(png)
    exported = np.asarray(Image.open(png).convert("RGB"))
    image = read_image(fullres)
    assert exported.shape[:2] == image.pixels.shape
    gray = (image.to_unit() * 255.0 + 0.5).astype(np.uint8)
    full = model.heatmap(window.session.prediction, "abnormal")  # --heatmap's full-size map
    expected = blend(gray, full, window.view.viewer.opacity)
    difference = np.abs(exported.astype(int) - expected.astype(int))
    # the small map is coloured, then scaled by Qt: a few levels apart where colours turn
    assert difference.mean() < 1.0 and difference.max() <= 6

    out = tmp_path / "result.json"
    assert window.export.export_result(out)
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["file"] == str(fullres)
    assert data["report"] is None
    assert data["probability"] == pytest.approx(window.session.prediction.probability)
    assert set(window.session.prediction.to_dict()) <= set(data)
    assert not window.export.export_image(tmp_path / "missing" / "x.png")
    assert "Cannot write" in window.message.text()


def test_recent_files_and_settings_persist(
    qtbot, settings, factory, fullres, sample_with_report, tmp_path
):
    window = new_window(qtbot, settings, factory)
    open_and_wait(qtbot, window, fullres, result=False)
    open_and_wait(qtbot, window, sample_with_report, result=False)
    window.heatmap.opacity_slider.setValue(70)
    assert settings.recent_files()[:2] == [sample_with_report.resolve(), fullres.resolve()]
    recent = [a for a in window.files.recent_menu.actions() if a.text() == str(fullres.resolve())]
    assert recent
    recent[0].trigger()
    qtbot.waitUntil(lambda: window.session.study.path == fullres.resolve(), timeout=WAIT_MS)
    window.close()

    reopened = AppSettings(tmp_path / "settings.ini")
    assert reopened.opacity() == pytest.approx(0.7)
    assert reopened.geometry() is not None
    second = new_window(qtbot, reopened, factory)
    assert second.heatmap.opacity_slider.value() == 70
    assert second.view.viewer.opacity == pytest.approx(0.7)
    assert str(fullres.resolve()) in [a.text() for a in second.files.recent_menu.actions()]


def test_about_dialog_lists_model_data_and_disclaimer(qtbot, window, model):
    dialog = window.help.show_about()
    qtbot.addWidget(dialog)
    text = dialog.browser.toPlainText()
    assert "Kermany" in text and "CC BY 4.0" in text
    assert "Demner-Fushman" in text and "CC BY-NC-ND 4.0" in text
    assert "not a medical device" in text
    assert model.card.text_mode in text and "fused" in text
    card = type(
        "Card",
        (),
        {
            "data": {**model.card.data, "metrics": {"auc": 0.912}},
            "text_mode": "bag",
            "is_demo": False,
            "directory": Path("m"),
            "short_name": "m",
            "version": "v1",
        },
    )()
    assert "0.912" in about_html(card)
    assert "No model is installed" in about_html(None, "gone")


def test_percent_never_claims_certainty():
    from cxr_desktop.panels.result_panel import percent

    assert percent(None) == "—"
    assert percent(0.0) == "<0.1%" and percent(1.0) == ">99.9%"
    assert percent(0.5) == "50.0%" and percent(0.0006) == "0.1%"
