"""The study panel's worker: group a folder's DICOM files into studies, then make each
image's thumbnail and score the frontal ones, one image at a time, newest request first."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from PySide6.QtCore import QObject, Signal, Slot

from cxr_desktop.workers.boundary import Newest, failure_text
from cxr_desktop.workers.prediction import ModelFactory
from cxr_desktop.workers.threads import start_in_thread, stop_thread
from cxr_model.errors import CXRError
from cxr_model.imaging.reader import XrayImage, read_image
from cxr_model.imaging.studies import StudyImage, folder_studies
from cxr_model.inference.predictor import Model, Prediction
from cxr_model.inference.scan import read_sibling_report

THUMBNAIL_PX = 96


def thumbnail(image: XrayImage, size: int = THUMBNAIL_PX) -> np.ndarray:
    """uint8 (H, W), the longer side `size`, in the image's own window."""
    step = max(1, max(image.pixels.shape) // (4 * size))
    pixels = image.pixels[::step, ::step]
    gray = (
        XrayImage(
            pixels, image.window, image.bits, image.source, image.format, image.original_size
        ).to_unit()
        * 255.0
        + 0.5
    ).astype(np.uint8)
    picture = Image.fromarray(gray)
    picture.thumbnail((size, size), Image.Resampling.LANCZOS)
    return np.asarray(picture)


class StudyWorker(QObject):
    """Lists and scores studies with its own model (made by `factory` on first use)."""

    listed = Signal(int, object, object)  # request id, list[StudyGroup], [(Path, reason)]
    image_done = Signal(int, object, object, object, str)  # id, Path, thumbnail, Prediction
    failed = Signal(int, str)  # request id, message

    def __init__(self, factory: ModelFactory) -> None:
        super().__init__()
        self.factory = factory
        self.model: Model | None = None
        self.model_error = ""
        self.latest = 0

    @Slot(object)
    def set_factory(self, factory: ModelFactory) -> None:
        """Score with another model from now on (made on first use)."""
        self.factory, self.model, self.model_error = factory, None, ""

    @Slot(int, object, str, bool)
    def load(self, request_id: int, folder: Path, study_uid: str, recursive: bool) -> None:
        """List `folder`'s studies (only `study_uid` when given; its subfolders too with
        `recursive`), then every image."""
        if request_id < self.latest:
            return
        try:
            studies, unreadable = folder_studies(folder, recursive)
        except OSError as exc:
            self.failed.emit(request_id, f"cannot list {folder}: {exc.strerror or exc}")
            return
        if study_uid:
            studies = [s for s in studies if s.uid == study_uid]
        self.listed.emit(request_id, studies, unreadable)
        for study in studies:
            for image in study.images:
                if request_id < self.latest:  # a newer folder was asked for
                    return
                self._image(request_id, image)

    def _scoring_model(self) -> Model | None:
        if self.model is None and not self.model_error:
            try:
                self.model = self.factory()
            except Exception as exc:  # the thread boundary: say it, never hang
                self.model_error = str(exc)
        return self.model

    def _image(self, request_id: int, item: StudyImage) -> None:
        try:
            image = read_image(item.path)
            small = thumbnail(image)
            prediction, note = None, ""
            if item.view.scored:
                model = self._scoring_model()
                if model is None:
                    note = f"not scored: no model ({self.model_error})"
                else:
                    prediction = model.predict(model.prepare(image), read_sibling_report(item.path))
        except Exception as exc:  # the thread boundary: report, go on with the next image
            why = f"cannot read: {exc.reason}" if isinstance(exc, CXRError) else failure_text(exc)
            self.image_done.emit(request_id, item.path, None, None, why)
            return
        self.image_done.emit(request_id, item.path, small, prediction, note)


class StudyService(QObject):
    """GUI-side handle of the study worker: only the newest folder's answers come out."""

    listed = Signal(object, object)  # list[StudyGroup], unreadable
    image_done = Signal(object, object, object, str)  # Path, thumbnail, Prediction, note
    failed = Signal(str)
    _load = Signal(int, object, str, bool)
    _set_factory = Signal(object)

    def __init__(self, factory: ModelFactory, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.worker = StudyWorker(factory)
        self._requests = Newest()
        self._load.connect(self.worker.load)
        self._set_factory.connect(self.worker.set_factory)
        self.worker.listed.connect(self._on_listed)
        self.worker.image_done.connect(self._on_image)
        self.worker.failed.connect(self._on_failed)
        self.thread = start_in_thread(self.worker, "cxr-study")

    def load(self, folder: Path, study_uid: str = "", recursive: bool = False) -> int:
        """Show `folder` (one study of it when `study_uid`, with its subfolders when
        `recursive`); supersedes earlier loads."""
        request_id = self._requests.next()
        self.worker.latest = request_id
        self._load.emit(request_id, Path(folder), study_uid, recursive)
        return request_id

    def set_factory(self, factory: ModelFactory) -> None:
        self._set_factory.emit(factory)

    def _on_listed(self, request_id: int, studies: Any, unreadable: Any) -> None:
        if self._requests.current(request_id):
            self.listed.emit(studies, unreadable)

    def _on_image(
        self,
        request_id: int,
        path: Path,
        small: np.ndarray | None,
        prediction: Prediction | None,
        note: str,
    ) -> None:
        if self._requests.current(request_id):
            self.image_done.emit(path, small, prediction, note)

    def _on_failed(self, request_id: int, message: str) -> None:
        if self._requests.current(request_id):
            self.failed.emit(message)

    def shutdown(self) -> None:
        self.worker.latest = self._requests.next()  # skip what is queued
        stop_thread(self.thread)
