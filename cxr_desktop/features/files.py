"""Opening X-rays: File > Open, Open recent, drag and drop; reading happens on a worker."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QObject
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QFileDialog, QMenu, QWidget

from cxr_desktop.actions import make_action
from cxr_desktop.features.report import REPORT_SUFFIXES, ReportFeature
from cxr_desktop.session import Session
from cxr_desktop.settings import AppSettings
from cxr_desktop.viewer.drops import FileDropFilter
from cxr_desktop.workers.reading import OpenedImage, ReadService
from cxr_model.errors import CXRError
from cxr_model.imaging.reader import SUPPORTED_SUFFIXES, is_supported
from cxr_model.text.report import read_report

IMAGE_FILTER = (
    "X-ray images (" + " ".join(f"*{s}" for s in sorted(SUPPORTED_SUFFIXES)) + ");;All files (*)"
)


class FilesFeature(QObject):
    """Owns the read worker, the open actions and the recent files menu.

    A report dropped together with an image replaces the one found beside the image before
    the study is published, so one prediction runs, with that report.
    """

    def __init__(
        self,
        session: Session,
        settings: AppSettings,
        report: ReportFeature,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.session = session
        self.settings = settings
        self.report = report
        self.reader = ReadService(self)
        self.reader.study_read.connect(self._on_study)
        self.reader.read_failed.connect(self._on_read_failed)
        self.open_action = make_action(
            self,
            "&Open image…",
            self.choose_image,
            QKeySequence.StandardKey.Open,
            tip="an X-ray file: PNG, JPEG, TIFF, BMP or DICOM",
            icon_name="folder-open",
        )
        self.recent_menu = QMenu("Open &recent")
        self.drop_filter = FileDropFilter(self.open_files, self)
        self._pending_report: Path | None = None
        self.update_recent_menu()

    def accept_drops_on(self, widget: QWidget) -> None:
        """Files dropped on `widget` open here."""
        widget.setAcceptDrops(True)
        widget.installEventFilter(self.drop_filter)

    def update_recent_menu(self) -> None:
        self.recent_menu.clear()
        files = self.settings.recent_files()
        for path in files:
            action = self.recent_menu.addAction(str(path))
            action.triggered.connect(lambda _=False, p=path: self.open_image(p))
        self.recent_menu.addSeparator()
        clear = self.recent_menu.addAction("Clear recent files")
        clear.setEnabled(bool(files))
        clear.triggered.connect(self._clear_recent)

    def _clear_recent(self) -> None:
        self.settings.clear_recent()
        self.update_recent_menu()

    def choose_image(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self.report.editor.window(),
            "Open X-ray",
            self.settings.last_folder("image"),
            IMAGE_FILTER,
        )
        if path:
            self.open_image(Path(path))

    def open_files(self, paths: list[Path]) -> None:
        """Open dropped files: the first image and/or the first .txt report."""
        images = [p for p in paths if p.suffix.lower() not in REPORT_SUFFIXES]
        reports = [p for p in paths if p.suffix.lower() in REPORT_SUFFIXES]
        if images:
            if not is_supported(images[0]) and images[0].exists():
                self.session.show_error(
                    f"Cannot open {images[0].name}: not a supported file type "
                    f"({', '.join(sorted(SUPPORTED_SUFFIXES))}, .txt reports)"
                )
                return
            if self.open_image(images[0]) and reports:
                self._pending_report = reports[0]
        elif reports:
            self.report.open_report(reports[0])

    def open_image(self, path: Path) -> bool:
        """Start reading an image (in the background); False if the user cancelled."""
        if not self.report.confirm_discard():
            return False
        self._pending_report = None
        self.reader.read(Path(path))
        self.session.show_status(f"Opening {Path(path).name}…")
        return True

    def _with_pending_report(self, study: OpenedImage) -> tuple[OpenedImage, str | None]:
        """The study with the report dropped alongside it, or why that report failed."""
        pending, self._pending_report = self._pending_report, None
        if pending is None:
            return study, None
        try:
            text = read_report(pending)
        except CXRError as exc:
            return study, f"Cannot load the report {pending.name}: {exc.reason}"
        self.settings.set_last_folder("report", pending.parent)
        return replace(study, report=text, report_path=pending, report_error=None), None

    def _on_study(self, study: OpenedImage) -> None:
        study, report_failure = self._with_pending_report(study)
        self.session.set_study(study)
        self.settings.add_recent(study.path)
        self.settings.set_last_folder("image", study.path.parent)
        self.update_recent_menu()
        image = study.image
        notes = [
            f"Opened {study.path.name} ({image.original_size[0]}x"
            f"{image.original_size[1]}, {image.bits}-bit {image.format})"
        ]
        if study.report_path:
            notes.append(f"report {study.report_path.name} loaded")
        self.session.show_status("; ".join(notes + list(image.warnings)))
        if study.report_error:
            self.session.show_error(
                f"The image opened, but its report could not be read: {study.report_error}"
            )
        if report_failure:
            self.session.show_error(report_failure)

    def _on_read_failed(self, path: str, message: str) -> None:
        self._pending_report = None
        self.session.show_error(f"Cannot open {Path(path).name}: {message}")

    def shutdown(self) -> None:
        self.reader.shutdown()
