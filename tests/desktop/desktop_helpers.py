"""Helpers for the desktop tests: a slow model double, window creation, waiting."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QMessageBox

from cxr_desktop.main_window import MainWindow
from cxr_desktop.settings import AppSettings
from cxr_model.inference.predictor import load_model

WAIT_MS = 30_000


class SlowModel:
    """A real model that sleeps first: predict for images named in `slow` (all if None),
    predict_batch always (test double)."""

    def __init__(self, model_dir: Path, delay: float, slow: set[str] | None = None) -> None:
        self.inner = load_model(model_dir)
        self.card = self.inner.card
        self.delay = delay
        self.slow = slow
        self.calls: list[str] = []
        self.names: dict[int, str] = {}  # id(Prepared) -> file name it came from

    def __getattr__(self, name):  # read, heatmap...: the real model's
        return getattr(self.inner, name)

    def prepare(self, image):
        prepared = self.inner.prepare(image)
        self.names[id(prepared)] = Path(image.source).name
        return prepared

    def predict(self, image, report=None):
        name = self.names.get(id(image)) or Path(image.source).name
        self.calls.append(name)
        if self.slow is None or name in self.slow:
            time.sleep(self.delay)
        return self.inner.predict(image, report)

    def predict_batch(self, images, reports):
        time.sleep(self.delay)
        return self.inner.predict_batch(images, reports)


def new_window(qtbot, settings: AppSettings, factory, wait_model: bool = True) -> MainWindow:
    window = MainWindow(settings, factory)
    # At teardown: never prompt, so the window always closes and stops its threads.
    qtbot.addWidget(
        window, before_close_func=lambda w: w.report.editor.edit.document().setModified(False)
    )
    # Unsaved-report prompt: discard unless a test says otherwise (never a modal box).
    window.report.ask_save_changes = lambda: QMessageBox.StandardButton.Discard
    window.show()
    if wait_model:
        session = window.session
        qtbot.waitUntil(
            lambda: session.card is not None or session.model_error is not None, timeout=WAIT_MS
        )
    return window


def showing(window: MainWindow, path: Path) -> bool:
    """True when the window's open study is `path`."""
    return window.session.study is not None and window.session.study.path == Path(path)


def used_report(window: MainWindow) -> bool | None:
    """Whether the window's current result used the report (None: no result yet)."""
    prediction = window.session.prediction
    return None if prediction is None else prediction.used_report


def open_and_wait(qtbot, window: MainWindow, path: Path, result: bool = True) -> None:
    """Open an image and wait until it shows (and its prediction, when a model is loaded)."""
    assert window.files.open_image(path)
    qtbot.waitUntil(lambda: showing(window, Path(path)), timeout=WAIT_MS)
    if result and window.session.card is not None:
        qtbot.waitUntil(lambda: window.session.prediction is not None, timeout=WAIT_MS)


def qimage_array(image: QImage) -> np.ndarray:
    image = image.convertToFormat(QImage.Format.Format_RGBA8888)
    data = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine())
    return data[:, : image.width() * 4].reshape(image.height(), image.width(), 4).copy()
