"""Exporting: the image as displayed (PNG) and the current result (JSON)."""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QFileDialog

from cxr_desktop.actions import make_action
from cxr_desktop.features.report import ReportFeature
from cxr_desktop.session import Session
from cxr_desktop.settings import AppSettings
from cxr_desktop.viewer.view import XrayViewer


class ExportFeature(QObject):
    """Owns the export actions; enabled when there is an image / a result to export."""

    def __init__(
        self,
        session: Session,
        viewer: XrayViewer,
        report: ReportFeature,
        settings: AppSettings,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.session = session
        self.viewer = viewer
        self.report = report
        self.settings = settings
        self.image_action = make_action(
            self,
            "&Export image…",
            self.choose_image_file,
            "Ctrl+E",
            tip="the image as shown, at full resolution",
            icon_name="file-export",
        )
        self.corners_action = make_action(
            self,
            "Corner overlays in exported &image",
            lambda _on: None,
            checkable=True,
            tip="patient and study text is left out unless asked",
        )
        self.json_action = make_action(
            self, "Export result as &JSON…", self.choose_json_file, "Ctrl+J"
        )
        session.study_changed.connect(self._update)
        session.prediction_changed.connect(self._update)
        self._update()

    def _update(self, *_args) -> None:
        self.image_action.setEnabled(self.session.study is not None)
        self.json_action.setEnabled(self.session.prediction is not None)

    def _start(self, suffix: str) -> str:
        folder = Path(self.settings.last_folder("export") or ".")
        stem = self.session.study.path.stem if self.session.study else "cxr"
        return str(folder / f"{stem}{suffix}")

    def choose_image_file(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self.viewer.window(), "Export image", self._start("-view.png"), "PNG images (*.png)"
        )
        if path:
            self.export_image(Path(path))

    def choose_json_file(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self.viewer.window(), "Export result", self._start("-result.json"), "JSON (*.json)"
        )
        if path:
            self.export_result(Path(path))

    def _done(self, path: Path) -> bool:
        self.settings.set_last_folder("export", Path(path).parent)
        self.session.show_status(f"Exported {path}")
        return True

    def export_image(self, path: Path, corners: bool | None = None) -> bool:
        """Save the image at full resolution as displayed (window/level, invert, heatmap,
        measurements); corner overlays only when asked (`corners`, else the menu's choice)."""
        if self.session.study is None:
            self.session.show_error("Open an image before exporting.")
            return False
        corners = self.corners_action.isChecked() if corners is None else corners
        if not self.viewer.render_image(corners).save(str(path), "PNG"):
            self.session.show_error(
                f"Cannot write {path}: check the folder exists and is writable."
            )
            return False
        return self._done(path)

    def result_dict(self) -> dict:
        """The current result: Prediction.to_dict() + file + report used."""
        prediction = self.session.prediction
        data = prediction.to_dict()
        data["file"] = str(self.session.study.path)
        data["report"] = self.report.report() if prediction.used_report else None
        return data

    def export_result(self, path: Path) -> bool:
        """Save the current result as JSON."""
        if self.session.prediction is None or self.session.study is None:
            self.session.show_error("There is no result to export yet.")
            return False
        try:
            Path(path).write_text(json.dumps(self.result_dict(), indent=2) + "\n", encoding="utf-8")
        except OSError as exc:
            self.session.show_error(f"Cannot write {path}: {exc.strerror or exc}")
            return False
        return self._done(path)
