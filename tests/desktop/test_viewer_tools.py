"""Issue 14 in the app: corner overlays, DICOM tag browser, distance/angle tools, study
panel, toolbar icons with shortcut tooltips, the uncertainty band."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pydicom
import pytest
from desktop_helpers import WAIT_MS, open_and_wait, qimage_array, showing
from helpers_dicom_header import write_dicom
from PIL import Image
from PySide6.QtCore import QPointF, Qt
from PySide6.QtWidgets import QToolBar

from cxr_desktop.icons import ICON_NAMES, icon, icon_license
from cxr_desktop.panels.result_panel import ResultPanel, verdict_text
from cxr_desktop.panels.tag_browser import PRIVATE_ROLE
from cxr_desktop.viewer.measure import angle_degrees, distance_text
from cxr_model.imaging.reader import read_image
from cxr_model.inference.card import ModelCard
from cxr_model.inference.predictor import Model

KNOWN = dict(
    PatientName="Doe^Jane",
    PatientID="P-0042",
    PatientAge="045Y",
    PatientSex="F",
    StudyDate="20240301",
    StudyTime="101500",
    StudyDescription="CHEST PA",
    InstitutionName="Test Hospital",
    Modality="DX",
    ViewPosition="PA",
    PixelSpacing=[0.5, 0.25],
    WindowCenter="2000",
    WindowWidth="4000",
)


@pytest.fixture
def known_dicom(tmp_path) -> Path:
    """A 64x48 DICOM with known header values, a private tag and a sequence."""
    path = write_dicom(tmp_path / "known.dcm", **KNOWN)
    ds = pydicom.dcmread(path)
    ds.private_block(0x0009, "CXR TEST", create=True).add_new(0x01, "LO", "site secret")
    item = pydicom.Dataset()
    item.CodeValue, item.CodeMeaning = "R-1234", "chest radiograph"
    ds.ProcedureCodeSequence = [item]
    ds.save_as(path)
    return path


def test_corner_overlays_show_the_dicom_values(qtbot, window, known_dicom, tmp_path):
    open_and_wait(qtbot, window, known_dicom, result=False)
    viewer = window.view.viewer
    texts = viewer.corner_texts()
    assert texts.top_left == ("Doe Jane", "ID P-0042", "45Y F")
    assert texts.top_right == ("Test Hospital", "CHEST PA", "2024-03-01 10:15")
    assert texts.bottom_left == ("DX PA", "Se 1 Im 1", "64 x 48 px, 12-bit", "0.25 x 0.5 mm/px")
    assert texts.bottom_right == ("WL 2000 WW 4000", f"Zoom {100 * viewer.scale_factor():.0f}%")

    action = window.view.corners_action
    assert action.isChecked() and viewer.corners_visible
    assert action.shortcut().toString() == "O" and "(O)" in action.toolTip()
    shown = qimage_array(viewer.viewport().grab().toImage())[..., :3]
    action.trigger()
    assert not viewer.corners_visible
    hidden = qimage_array(viewer.viewport().grab().toImage())[..., :3]
    corner = (slice(0, 60), slice(0, 200))
    assert np.abs(shown[corner].astype(int) - hidden[corner].astype(int)).sum() > 1000
    action.trigger()

    plain, with_text = tmp_path / "plain.png", tmp_path / "text.png"
    assert window.export.export_image(plain)  # overlays stay out of exports by default
    window.export.corners_action.setChecked(True)
    assert window.export.export_image(with_text)
    plain_px = np.asarray(Image.open(plain).convert("RGB"))
    gray = (read_image(known_dicom).to_unit() * 255 + 0.5).astype(np.uint8)
    assert np.abs(plain_px[..., 0].astype(int) - gray).max() <= 1
    assert not np.array_equal(np.asarray(Image.open(with_text).convert("RGB")), plain_px)


def test_corner_overlays_without_dicom_use_file_facts(qtbot, window, sample_without_report):
    open_and_wait(qtbot, window, sample_without_report, result=False)
    texts = window.view.viewer.corner_texts()
    width, height = read_image(sample_without_report).original_size
    assert texts.top_left == (sample_without_report.name,)
    assert texts.top_right[0].startswith("File date ")
    assert texts.bottom_left == ("JPEG", f"{width} x {height} px, 8-bit")


def test_tag_browser_finds_a_tag_by_name_and_by_number(
    qtbot, window, known_dicom, sample_without_report
):
    open_and_wait(qtbot, window, known_dicom, result=False)
    window.tags.action.trigger()
    assert window.tags.dock.isVisible()
    browser = window.tags.browser
    every = browser.visible_tags()
    assert "(0010,1010)" in every and "(7FE0,0010)" in every and every[0].startswith("(0002,")
    for query in ("PatientAge", "patient's age", "(0010,1010)", "0010,1010", "00101010"):
        browser.search.setText(query)
        assert browser.visible_tags() == ["(0010,1010)"], query
    browser.search.setText("0010")  # a group: every patient tag
    assert {"(0010,0010)", "(0010,0020)", "(0010,1010)"} <= set(browser.visible_tags())
    browser.search.setText("chest radiograph")  # inside a sequence: its parents stay
    assert browser.visible_tags() == ["(0008,1032)", "Item 1", "(0008,0104)"]
    browser.search.setText("site secret")
    index = browser.proxy.index(0, 0)
    assert index.data() == "(0009,1001)" and index.data(PRIVATE_ROLE) is True
    assert "CXR TEST" in browser.proxy.index(0, 1).data()
    browser.search.setText("Pixel Data")
    pixel_value = browser.proxy.index(0, 3).data()
    assert pixel_value == f"pixel data, {64 * 48 * 2} bytes, not shown"
    browser.search.clear()
    open_and_wait(qtbot, window, sample_without_report, result=False)
    assert browser.visible_tags() == [] and "not DICOM" in browser.note.text()


def drag(qtbot, viewer, points: list[QPointF], clicks: bool = False) -> None:
    """Left-drag through scene points (press, moves, release), or click each one."""
    port = viewer.viewport()
    spots = [viewer.mapFromScene(p) for p in points]
    if clicks:  # quick clicks: the second one arrives as a double click
        for spot in spots:
            qtbot.mouseClick(port, Qt.MouseButton.LeftButton, pos=spot)
        return
    qtbot.mousePress(port, Qt.MouseButton.LeftButton, pos=spots[0])
    for spot in spots[1:]:
        qtbot.mouseMove(port, spot)
    qtbot.mouseRelease(port, Qt.MouseButton.LeftButton, pos=spots[-1])


def test_distance_in_mm_and_angle_follow_zoom(qtbot, window, known_dicom):
    assert distance_text(QPointF(0, 0), QPointF(40, 0), (0.5, 0.25)) == "10.0 mm"
    assert distance_text(QPointF(0, 0), QPointF(0, 20), (0.5, 0.25)) == "10.0 mm"
    assert distance_text(QPointF(0, 0), QPointF(3, 4), None) == "5.0 pixels"
    open_and_wait(qtbot, window, known_dicom, result=False)
    viewer = window.view.viewer
    viewer.resize(800, 600)
    viewer.actual_size()
    window.measure.distance_action.trigger()
    drag(qtbot, viewer, [QPointF(10, 20), QPointF(30, 20), QPointF(50, 20)])
    line = viewer.measurements[-1]
    start, end = line.points
    assert start.y() == end.y() and end.x() - start.x() == pytest.approx(40, abs=1)
    assert line.text() == f"{(end.x() - start.x()) * 0.25:.1f} mm"
    assert line.label.text() == line.text() and "mm" in window.statusBar().currentMessage()
    drag(qtbot, viewer, [QPointF(5, 4), QPointF(5, 44)])
    assert viewer.measurements[-1].text() == f"{40 * 0.5:.1f} mm"

    window.measure.angle_action.trigger()
    drag(qtbot, viewer, [QPointF(10, 30), QPointF(30, 30), QPointF(50, 10)], clicks=True)
    angle = viewer.measurements[-1]
    assert angle.kind == "angle" and len(angle.points) == 3
    # 135 degrees in pixels, but pixels are 0.25 mm wide and 0.5 mm tall: 116.6 degrees
    assert angle_degrees(QPointF(10, 30), QPointF(30, 30), QPointF(50, 10)) == 135.0
    assert float(angle.text().rstrip("°")) == pytest.approx(
        180 - math.degrees(math.atan2(10, 5)), abs=1.0
    )

    before = viewer.mapFromScene(line.sceneBoundingRect()).boundingRect()
    scene_before = line.sceneBoundingRect()
    window.view.zoom_in_action.trigger()
    after = viewer.mapFromScene(line.sceneBoundingRect()).boundingRect()
    assert line.sceneBoundingRect() == scene_before  # it stays on the same pixels
    assert after.width() == pytest.approx(before.width() * 1.25, rel=0.1)
    window.measure.clear_action.trigger()
    assert viewer.measurements == []


def test_distance_without_spacing_says_pixels(qtbot, window, tmp_path):
    path = write_dicom(tmp_path / "nospacing.dcm")
    open_and_wait(qtbot, window, path, result=False)
    viewer = window.view.viewer
    viewer.actual_size()
    window.measure.distance_action.trigger()
    drag(qtbot, viewer, [QPointF(2, 2), QPointF(32, 42)])
    assert viewer.measurements[-1].text().endswith(" pixels")


@pytest.fixture
def two_studies(tmp_path, sample_images) -> Path:
    """Study A (PA + lateral, two series) and study B (PA), from real X-rays, plus a file
    that is not DICOM."""
    folder = tmp_path / "studies"
    folder.mkdir()
    xray = sample_images[0]
    write_dicom(
        folder / "a_pa.dcm",
        xray,
        StudyInstanceUID="1.2.826.0.1.3680043.10.1",
        SeriesInstanceUID="1.2.826.0.1.3680043.10.1.1",
        StudyDate="20230105",
        StudyDescription="CHEST 2 VIEWS",
        ViewPosition="PA",
        SeriesNumber=1,
    )
    write_dicom(
        folder / "a_lat.dcm",
        xray,
        StudyInstanceUID="1.2.826.0.1.3680043.10.1",
        SeriesInstanceUID="1.2.826.0.1.3680043.10.1.2",
        StudyDate="20230105",
        ViewPosition="LL",
        SeriesNumber=2,
    )
    write_dicom(
        folder / "b_pa.dcm",
        sample_images[1],
        StudyInstanceUID="1.2.826.0.1.3680043.10.2",
        SeriesInstanceUID="1.2.826.0.1.3680043.10.2.1",
        StudyDate="20240301",
        ViewPosition="AP",
    )
    (folder / "notes.txt").write_text("not an image", encoding="utf-8")
    return folder


def test_study_panel_groups_a_folder_with_two_studies(qtbot, window, two_studies, model):
    study = window.study
    study.show_folder(two_studies, open_first=True)
    panel = study.panel
    scored = [two_studies / "a_pa.dcm", two_studies / "b_pa.dcm"]
    qtbot.waitUntil(
        lambda: len(panel.images) == 3 and all("%" in panel.status_of(p) for p in scored),
        timeout=WAIT_MS,
    )
    tree = panel.tree
    assert tree.topLevelItemCount() == 2
    first, second = tree.topLevelItem(0), tree.topLevelItem(1)
    assert first.text(0).startswith("2023-01-05 · CHEST 2 VIEWS") and first.childCount() == 2
    assert second.text(0).startswith("2024-03-01") and second.childCount() == 1
    assert "2 studies" in panel.title.text()
    lateral = panel.status_of(two_studies / "a_lat.dcm")
    assert "not scored: lateral view" in lateral
    assert "frontal" in panel.images[two_studies / "a_lat.dcm"][0].toolTip(0)
    for path in scored:
        expected = model.predict(read_image(path))
        shown = panel.status_of(path).splitlines()[1]
        assert shown == f"{verdict_text(expected)} · {expected.model.split(' ')[0]}"
        assert not panel.images[path][0].icon(0).isNull()  # thumbnail
    qtbot.waitUntil(lambda: showing(window, two_studies / "a_pa.dcm"), timeout=WAIT_MS)

    leaf = panel.images[two_studies / "b_pa.dcm"][0]  # a click opens the image
    rect = tree.visualItemRect(leaf)
    qtbot.mouseClick(tree.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.waitUntil(lambda: showing(window, two_studies / "b_pa.dcm"), timeout=WAIT_MS)


def test_opening_a_dicom_shows_only_its_study(qtbot, window, two_studies, known_dicom):
    panel = window.study.panel
    open_and_wait(qtbot, window, known_dicom, result=False)  # alone in its folder
    qtbot.waitUntil(lambda: len(panel.images) == 1, timeout=WAIT_MS)
    assert not window.study.dock.isVisible()  # one image: the dock stays out of the way
    open_and_wait(qtbot, window, two_studies / "a_lat.dcm", result=False)
    qtbot.waitUntil(lambda: len(panel.images) == 2, timeout=WAIT_MS)
    assert panel.tree.topLevelItemCount() == 1 and window.study.dock.isVisible()
    assert set(panel.images) == {two_studies / "a_pa.dcm", two_studies / "a_lat.dcm"}
    assert panel.tree.currentItem() is panel.images[two_studies / "a_lat.dcm"][0]


def test_toolbar_icons_and_shortcut_tooltips(window):
    bar = window.findChild(QToolBar, "mainToolbar")
    actions = [a for a in bar.actions() if not a.isSeparator() and a.text()]
    with_shortcut = [a for a in actions if not a.shortcut().isEmpty()]
    assert len(with_shortcut) >= 12
    for action in with_shortcut:
        assert not action.icon().isNull(), action.text()
        assert f"({action.shortcut().toString()})" in action.toolTip(), action.toolTip()
    assert all(not icon(name).isNull() for name in ICON_NAMES)
    licence = icon_license()
    assert licence.startswith("MIT License") and "Paweł Kuna" in licence
    shipped = {p.stem for p in (Path(__file__).parents[2] / "resources" / "icons").glob("*.png")}
    assert shipped == set(ICON_NAMES)  # only the icons used ship
    about = window.help.show_about()
    assert "Tabler Icons" in about.browser.toPlainText()
    assert "Permission is hereby granted" in about.browser.toPlainText()
    about.close()


def with_margin(model: Model, head: str, margin: float) -> Model:
    """The same model files at the same precision, with the card's uncertainty margin for
    `head` set."""
    data = {**model.card.data, "uncertainty": {head: {"margin": margin}}}
    return Model(ModelCard(model.card.directory, data), precision=model.precision)


def test_uncertainty_band_at_the_edges_of_the_margin(qtbot, model, sample_without_report):
    plain = model.predict(sample_without_report)  # no report: the image head decides
    gap = abs(plain.probability - plain.threshold)
    panel = ResultPanel()
    qtbot.addWidget(panel)
    inside = with_margin(model, "image", gap * (1 + 1e-6)).predict(sample_without_report)
    outside = with_margin(model, "image", gap * (1 - 1e-6)).predict(sample_without_report)
    assert inside.uncertain and not outside.uncertain
    panel.show_prediction(inside)
    assert "uncertain" in panel.label.text() and plain.label.upper() not in panel.label.text()
    assert "font-weight:bold" not in panel.label.styleSheet()
    assert "uncertainty margin" in panel.note.text()
    panel.show_prediction(outside)
    assert plain.label.upper() in panel.label.text()
    assert "font-weight:bold" in panel.label.styleSheet()
    assert "uncertain" not in panel.note.text()
    assert verdict_text(inside).endswith("% uncertain")
    assert verdict_text(replace(outside, ood_reason="age")).endswith("% no label (age)")
