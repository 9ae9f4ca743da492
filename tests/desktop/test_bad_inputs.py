"""Every bad input gives a clear message and leaves the window as it was."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from desktop_helpers import WAIT_MS, open_and_wait


def make_bad(kind: str, folder: Path, real: Path) -> Path:
    if kind == "zero-byte":
        path = folder / "empty.png"
        path.write_bytes(b"")
    elif kind == "truncated":
        path = folder / "truncated.jpeg"
        path.write_bytes(real.read_bytes()[:1500])
    elif kind == "text-named-png":
        path = folder / "notes.png"
        path.write_text("this is a text file, not an image\n" * 20, encoding="utf-8")
    elif kind == "missing":
        path = folder / "gone.png"
    elif kind == "folder":
        path = folder / "a-folder.png"
        path.mkdir()
    elif kind == "unsupported":
        path = folder / "movie.gif"
        path.write_bytes(b"GIF89a" + bytes(100))
    else:
        raise ValueError(kind)
    return path


def snapshot(window) -> tuple:
    return (
        window.session.study.path,
        window.view.viewer.gray.copy(),
        window.report.editor.text(),
        window.session.prediction,
        window.inference.panel.probability.text(),
    )


def assert_unchanged(window, before: tuple) -> None:
    path, gray, text, prediction, shown = before
    assert window.session.study.path == path
    assert np.array_equal(window.view.viewer.gray, gray)
    assert window.report.editor.text() == text
    assert window.session.prediction is prediction
    assert window.inference.panel.probability.text() == shown


@pytest.mark.parametrize(
    "kind", ["zero-byte", "truncated", "text-named-png", "missing", "folder", "unsupported"]
)
def test_bad_image_keeps_state(qtbot, window, sample_with_report, tmp_path, kind):
    open_and_wait(qtbot, window, sample_with_report)
    before = snapshot(window)
    bad = make_bad(kind, tmp_path, sample_with_report)
    window.files.open_files([bad])
    qtbot.waitUntil(window.message.isVisible, timeout=WAIT_MS)
    message = window.message.text()
    assert bad.name in message and "Cannot open" in message
    assert len(message) > len(f"Cannot open {bad.name}: ")
    assert window.statusBar().currentMessage() == message
    qtbot.wait(50)  # any late answer would land now
    assert_unchanged(window, before)


@pytest.mark.parametrize("content", [b"\x00\x01\x02\xff" * 400, b""])
def test_bad_report_keeps_state(qtbot, window, sample_with_report, tmp_path, content):
    open_and_wait(qtbot, window, sample_with_report)
    before = snapshot(window)
    bad = tmp_path / "binary.txt"
    bad.write_bytes(content)
    if not content:
        assert window.report.open_report(bad)  # an empty report is a valid (empty) report
        assert window.report.editor.text() == ""
        return
    assert not window.report.open_report(bad)
    assert "Cannot load the report binary.txt" in window.message.text()
    assert_unchanged(window, before)


def test_unreadable_report_beside_image_still_opens_image(
    qtbot, window, sample_without_report, tmp_path
):
    image = tmp_path / sample_without_report.name
    image.write_bytes(sample_without_report.read_bytes())
    image.with_suffix(".txt").write_bytes(b"\x00\xff\x00\xfe" * 1000)
    open_and_wait(qtbot, window, image)
    assert "its report could not be read" in window.message.text()
    assert window.report.editor.text() == "" and not window.session.prediction.used_report
