"""Reading studies (image + the report beside it) on a worker thread."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot

from cxr_desktop.workers.boundary import Newest
from cxr_desktop.workers.threads import start_in_thread, stop_thread
from cxr_model.errors import CXRError
from cxr_model.imaging.dicom_header import HeaderElement, read_header
from cxr_model.imaging.reader import XrayImage, read_image
from cxr_model.inference.scan import read_sibling_report, report_path


@dataclass(frozen=True)
class OpenedImage:
    """A file read for display: full-resolution image, the report found beside it, and the
    full DICOM header (empty for other formats)."""

    path: Path
    image: XrayImage
    report: str | None
    report_path: Path | None
    report_error: str | None
    header: tuple[HeaderElement, ...] = ()


def read_study(path: Path) -> OpenedImage:
    """Read an image at full resolution, its `x.txt` report if one sits beside it and, for
    DICOM, its header."""
    image = read_image(path)
    header = read_header(path) if image.format == "DICOM" else ()
    try:
        report = read_sibling_report(path)
    except CXRError as exc:
        return OpenedImage(path, image, None, None, str(exc), header)
    return OpenedImage(
        path, image, report, report_path(path) if report is not None else None, None, header
    )


class ReadWorker(QObject):
    """Reads studies from disk in its thread."""

    read_done = Signal(int, object)  # request id, OpenedImage
    read_failed = Signal(int, str, str)  # request id, path, message

    @Slot(int, object)
    def read(self, request_id: int, path: Path) -> None:
        try:
            study = read_study(Path(path))
        except CXRError as exc:
            self.read_failed.emit(request_id, str(path), exc.reason)
        except MemoryError:
            self.read_failed.emit(request_id, str(path), "not enough memory to read the image")
        else:
            self.read_done.emit(request_id, study)


class ReadService(QObject):
    """GUI-side handle of the read worker: only the newest read is answered."""

    study_read = Signal(object)  # OpenedImage
    read_failed = Signal(str, str)  # path, message
    _read = Signal(int, object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.worker = ReadWorker()
        self._requests = Newest()
        self._read.connect(self.worker.read)
        self.worker.read_done.connect(self._on_read)
        self.worker.read_failed.connect(self._on_failed)
        self.thread = start_in_thread(self.worker, "cxr-read")

    def read(self, path: Path) -> int:
        """Read a study in the background; it supersedes every earlier read."""
        request_id = self._requests.next()
        self._read.emit(request_id, Path(path))
        return request_id

    def _on_read(self, request_id: int, study: OpenedImage) -> None:
        if self._requests.current(request_id):
            self.study_read.emit(study)

    def _on_failed(self, request_id: int, path: str, message: str) -> None:
        if self._requests.current(request_id):
            self.read_failed.emit(path, message)

    def shutdown(self) -> None:
        stop_thread(self.thread)
