"""The main window: viewer, report editor, result panel, menus, toolbar, settings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QSlider,
    QSplitter,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from cxr_desktop.about import AboutDialog
from cxr_desktop.batch_scan import BatchScanDialog
from cxr_desktop.report_editor import ReportEditor
from cxr_desktop.result_panel import ResultPanel
from cxr_desktop.settings import AppSettings
from cxr_desktop.viewer import PRESETS, XrayViewer, accept_file_drag, dropped_paths
from cxr_desktop.workers import ModelFactory, PredictionService, Study
from cxr_model.errors import CXRError
from cxr_model.imaging.reader import SUPPORTED_SUFFIXES, is_supported

DEBOUNCE_MS = 400
IMAGE_FILTER = ("X-ray images (" + " ".join(f"*{s}" for s in sorted(SUPPORTED_SUFFIXES))
                + ");;All files (*)")
REPORT_FILTER = "Reports (*.txt);;All files (*)"
REPORT_SUFFIXES = (".txt",)


class MainWindow(QMainWindow):
    """Viewer + report + AI result. `factory` makes the model (in the worker threads)."""

    def __init__(self, settings: AppSettings, factory: ModelFactory,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.factory = factory
        self.study: Study | None = None
        self.card: Any = None
        self.model_error: str | None = None
        self.prediction: Any = None
        self.heat: dict[str, np.ndarray] = {}
        self.batch: BatchScanDialog | None = None
        self.about: AboutDialog | None = None
        self._pending_report: Path | None = None

        self.viewer = XrayViewer()
        self.editor = ReportEditor()
        self.panel = ResultPanel()
        self.message = QLabel()
        self.message.setObjectName("messageBar")
        self.message.setWordWrap(True)
        self.message.setStyleSheet("background:#fdecea;color:#611a15;padding:6px;"
                                   "border:1px solid #f5c6cb;")
        self.message.hide()
        self._build_layout()
        self._build_actions()
        self.window_label = QLabel()
        self.statusBar().addPermanentWidget(self.window_label)
        self.setAcceptDrops(True)
        self.editor.edit.viewport().installEventFilter(self)

        self.debounce = QTimer(self)
        self.debounce.setSingleShot(True)
        self.debounce.setInterval(DEBOUNCE_MS)
        self.debounce.timeout.connect(self.request_prediction)
        self.editor.changed.connect(self.debounce.start)
        self.viewer.files_dropped.connect(self.open_files)
        self.viewer.window_changed.connect(self._show_window)

        self.service = PredictionService(factory, self)
        self.service.model_ready.connect(self._on_model_ready)
        self.service.model_failed.connect(self._on_model_failed)
        self.service.study_read.connect(self._on_study)
        self.service.read_failed.connect(self._on_read_failed)
        self.service.predicted.connect(self._on_predicted)
        self.service.predict_failed.connect(self._on_predict_failed)
        self.service.heatmap_ready.connect(self._on_heatmap)

        geometry = settings.geometry()
        if geometry is None or not self.restoreGeometry(geometry):
            self.resize(1400, 900)
        self._update_title()
        self._update_actions()
        self.statusBar().showMessage("Open an X-ray (Ctrl+O) or drop one on the window.")

    # ------------------------------------------------------------------ construction
    def _build_layout(self) -> None:
        side = QWidget()
        column = QVBoxLayout(side)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.panel)
        column.addWidget(self.editor, 1)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.viewer)
        splitter.addWidget(side)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([1000, 400])
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.message)
        layout.addWidget(splitter, 1)
        self.setCentralWidget(central)

    def _action(self, text: str, slot, shortcut: Any = None, checkable: bool = False,
                tip: str = "") -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            shortcuts = shortcut if isinstance(shortcut, list) else [shortcut]
            action.setShortcuts([QKeySequence(s) for s in shortcuts])
        action.setCheckable(checkable)
        action.setStatusTip(tip)
        (action.toggled if checkable else action.triggered).connect(slot)
        return action

    def _build_actions(self) -> None:
        key = QKeySequence.StandardKey
        self.open_action = self._action("&Open image…", self.choose_image, key.Open)
        self.open_report_action = self._action("Open &report…", self.choose_report, "Ctrl+R")
        self.save_report_action = self._action("&Save report", self.save_report, key.Save)
        self.save_report_as_action = self._action("Save report &as…", self.save_report_as,
                                                  key.SaveAs)
        self.export_image_action = self._action("&Export image…", self.choose_export_image,
                                                "Ctrl+E")
        self.export_json_action = self._action("Export result as &JSON…",
                                               self.choose_export_json, "Ctrl+J")
        self.batch_action = self._action("&Batch folder scan…", self.open_batch_scan, "Ctrl+B")
        quit_action = self._action("&Quit", self.close, key.Quit)
        self.fit_action = self._action("&Fit to window", self.viewer.fit, ["F", "Ctrl+0"])
        self.actual_action = self._action("&Actual size (1:1)", self.viewer.actual_size,
                                          ["1", "Ctrl+1"])
        self.zoom_in_action = self._action("Zoom &in", self.viewer.zoom_in,
                                           ["+", "=", key.ZoomIn])
        self.zoom_out_action = self._action("Zoom &out", self.viewer.zoom_out,
                                            ["-", key.ZoomOut])
        self.heatmap_action = self._action("&Heatmap", self.set_heatmap_visible, "H", True,
                                           "Grad-CAM heatmap of the current prediction")
        self.invert_action = self._action("&Invert", self.viewer.set_inverted, "I", True)
        self.reset_window_action = self._action("&Reset window/level", self.reset_window, "W")
        about_action = self._action("&About CXR Desktop", self.show_about)

        self.recent_menu = None
        menu = self.menuBar().addMenu("&File")
        menu.addActions([self.open_action, self.open_report_action])
        self.recent_menu = menu.addMenu("Open &recent")
        menu.addSeparator()
        menu.addActions([self.save_report_action, self.save_report_as_action])
        menu.addSeparator()
        menu.addActions([self.export_image_action, self.export_json_action])
        menu.addSeparator()
        menu.addAction(self.batch_action)
        menu.addSeparator()
        menu.addAction(quit_action)
        self._update_recent_menu()

        view = self.menuBar().addMenu("&View")
        view.addActions([self.fit_action, self.actual_action, self.zoom_in_action,
                         self.zoom_out_action])
        view.addSeparator()
        view.addActions([self.heatmap_action, self.invert_action, self.reset_window_action])
        presets = view.addMenu("Window &presets")
        group = QActionGroup(self)
        self.preset_actions: dict[str, QAction] = {}
        for name in PRESETS:
            action = presets.addAction(name)
            action.triggered.connect(lambda _=False, n=name: self.apply_preset(n))
            group.addAction(action)
            self.preset_actions[name] = action
        self.menuBar().addMenu("&Help").addAction(about_action)

        self.opacity_slider = QSlider(Qt.Orientation.Horizontal)
        self.opacity_slider.setRange(0, 100)
        self.opacity_slider.setFixedWidth(110)
        self.opacity_slider.setToolTip("Heatmap opacity")
        self.opacity_slider.setValue(round(self.settings.opacity() * 100))
        self.viewer.set_opacity(self.settings.opacity())
        self.opacity_slider.valueChanged.connect(self.set_opacity)
        self.target_combo = QComboBox()
        self.target_combo.addItems(["abnormal", "normal"])
        self.target_combo.setToolTip("Heatmap target class")
        self.target_combo.currentTextChanged.connect(self._on_target_changed)
        self.preset_combo = QComboBox()
        self.preset_combo.addItems(list(PRESETS))
        self.preset_combo.setToolTip("Window/level preset (right-drag to adjust)")
        self.preset_combo.textActivated.connect(self.apply_preset)

        bar = QToolBar("Main")
        bar.setObjectName("mainToolbar")
        bar.setMovable(False)
        self.addToolBar(bar)
        bar.addActions([self.open_action, self.batch_action])
        bar.addSeparator()
        bar.addActions([self.fit_action, self.actual_action, self.zoom_in_action,
                        self.zoom_out_action])
        bar.addSeparator()
        bar.addWidget(QLabel(" W/L "))
        bar.addWidget(self.preset_combo)
        bar.addActions([self.invert_action])
        bar.addSeparator()
        bar.addAction(self.heatmap_action)
        bar.addWidget(QLabel(" Opacity "))
        bar.addWidget(self.opacity_slider)
        bar.addWidget(QLabel(" Target "))
        bar.addWidget(self.target_combo)

    def _update_actions(self) -> None:
        has_image = self.study is not None
        has_result = self.prediction is not None
        for action in (self.export_image_action, self.fit_action, self.actual_action,
                       self.zoom_in_action, self.zoom_out_action, self.invert_action,
                       self.reset_window_action):
            action.setEnabled(has_image)
        self.export_json_action.setEnabled(has_result)
        self.heatmap_action.setEnabled(self.model_error is None)

    def _update_title(self) -> None:
        name = self.study.path.name if self.study else "no image"
        self.setWindowTitle(f"CXR Desktop — {name}")

    def _update_recent_menu(self) -> None:
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
        self._update_recent_menu()

    # ------------------------------------------------------------------ messages
    def show_error(self, text: str) -> None:
        """A non-blocking error: message bar + status bar; nothing else changes."""
        self.message.setText(text)
        self.message.show()
        self.statusBar().showMessage(text)

    def show_status(self, text: str) -> None:
        self.message.hide()
        self.statusBar().showMessage(text)

    def ask_save_changes(self) -> QMessageBox.StandardButton:
        """Ask what to do with an unsaved report (Save/Discard/Cancel). Tests replace this."""
        return QMessageBox.question(
            self, "Unsaved report", "The report has unsaved changes. Save them?",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Save)

    def confirm_discard_report(self) -> bool:
        """True when it is fine to replace the report (saved, discarded or unchanged)."""
        if not self.editor.is_modified():
            return True
        answer = self.ask_save_changes()
        if answer == QMessageBox.StandardButton.Save:
            return self.save_report()
        return answer == QMessageBox.StandardButton.Discard

    # ------------------------------------------------------------------ opening
    def choose_image(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open X-ray", self.settings.last_folder(
            "image"), IMAGE_FILTER)
        if path:
            self.open_image(Path(path))

    def choose_report(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open report", self.settings.last_folder(
            "report"), REPORT_FILTER)
        if path:
            self.open_report(Path(path))

    def open_files(self, paths: list[Path]) -> None:
        """Open dropped files: the first image and/or the first .txt report."""
        images = [p for p in paths if p.suffix.lower() not in REPORT_SUFFIXES]
        reports = [p for p in paths if p.suffix.lower() in REPORT_SUFFIXES]
        if images:
            if not is_supported(images[0]) and images[0].exists():
                self.show_error(f"Cannot open {images[0].name}: not a supported file type "
                                f"({', '.join(sorted(SUPPORTED_SUFFIXES))}, .txt reports)")
                return
            if self.open_image(images[0]) and reports:
                self._pending_report = reports[0]
        elif reports:
            self.open_report(reports[0])

    def open_image(self, path: Path) -> bool:
        """Start reading an image (in the background); False if the user cancelled."""
        if not self.confirm_discard_report():
            return False
        self._pending_report = None
        self.service.read(Path(path))
        self.statusBar().showMessage(f"Opening {Path(path).name}…")
        return True

    def open_report(self, path: Path) -> bool:
        """Load a .txt report into the editor and re-run the prediction."""
        if not self.confirm_discard_report():
            return False
        try:
            self.editor.load(Path(path))
        except CXRError as exc:
            self.show_error(f"Cannot load the report {Path(path).name}: {exc.reason}")
            return False
        self.settings.set_last_folder("report", Path(path).parent)
        self.show_status(f"Loaded report {Path(path).name}")
        self.request_prediction()
        return True

    def _on_study(self, study: Study) -> None:
        self.study = study
        self.prediction = None
        self.heat.clear()
        self.viewer.set_image(study.image)
        self.invert_action.setChecked(False)
        self.preset_combo.setCurrentText("Default")
        self.viewer.set_overlay_visible(self.heatmap_action.isChecked())
        self.editor.set_report(study.report, study.report_path)
        self.settings.add_recent(study.path)
        self.settings.set_last_folder("image", study.path.parent)
        self._update_recent_menu()
        self._update_title()
        notes = [f"Opened {study.path.name} ({study.image.original_size[0]}x"
                 f"{study.image.original_size[1]}, {study.image.bits}-bit {study.image.format})"]
        if study.report_path:
            notes.append(f"report {study.report_path.name} loaded")
        self.show_status("; ".join(notes + list(study.image.warnings)))
        if study.report_error:
            self.show_error(f"The image opened, but its report could not be read: "
                            f"{study.report_error}")
        self._update_actions()
        pending, self._pending_report = self._pending_report, None
        if pending is None or not self.open_report(pending):
            self.request_prediction()

    def _on_read_failed(self, path: str, message: str) -> None:
        self._pending_report = None
        self.show_error(f"Cannot open {Path(path).name}: {message}")

    # ------------------------------------------------------------------ prediction
    def request_prediction(self) -> None:
        """Predict now for the current image + report (the debounce timer calls this)."""
        self.debounce.stop()
        if self.study is None or self.card is None:
            return
        self.service.predict(self.study.path, self.editor.report())
        self.panel.show_pending()

    def _on_model_ready(self, card: Any) -> None:
        self.card = card
        self.panel.set_demo(card.is_demo)
        self.panel.show_message("Open an X-ray to get a prediction.")
        self._update_actions()
        self.request_prediction()

    def _on_model_failed(self, message: str) -> None:
        self.model_error = message
        self.panel.show_no_model(message)
        self._update_actions()

    def _on_predicted(self, prediction: Any) -> None:
        self.prediction = prediction
        self.heat.clear()
        self.panel.show_prediction(prediction)
        self._update_actions()
        if self.heatmap_action.isChecked():
            self._request_heatmap()

    def _on_predict_failed(self, message: str) -> None:
        self.show_error(f"Prediction failed: {message}")
        self.panel.show_message(f"No result: {message}")

    # ------------------------------------------------------------------ heatmap
    def set_heatmap_visible(self, visible: bool) -> None:
        self.viewer.set_overlay_visible(visible)
        if visible:
            self._request_heatmap()

    def _request_heatmap(self) -> None:
        target = self.target_combo.currentText()
        if target in self.heat:
            self.viewer.set_heatmap(self.heat[target])
        elif self.prediction is not None:
            self.service.heatmap(self.prediction, target)

    def _on_target_changed(self, _target: str) -> None:
        if self.heatmap_action.isChecked():
            self._request_heatmap()

    def _on_heatmap(self, target: str, heat: np.ndarray) -> None:
        if self.viewer.image is None or heat.shape != self.viewer.image.pixels.shape:
            return
        self.heat[target] = heat
        if target == self.target_combo.currentText():
            self.viewer.set_heatmap(heat)

    def set_opacity(self, value: int) -> None:
        self.viewer.set_opacity(value / 100.0)
        self.settings.set_opacity(value / 100.0)

    # ------------------------------------------------------------------ window/level
    def apply_preset(self, name: str) -> None:
        self.viewer.apply_preset(name)
        self.preset_combo.setCurrentText(name)

    def reset_window(self) -> None:
        self.apply_preset("Default")

    def _show_window(self, center: float, width: float) -> None:
        self.window_label.setText(f"W {width:.4g}  L {center:.4g}")

    # ------------------------------------------------------------------ saving / export
    def save_report(self) -> bool:
        if self.editor.path is None:
            return self.save_report_as()
        return self._save_report_to(self.editor.path)

    def save_report_as(self) -> bool:
        start = str(self.editor.path or (self.study.path.with_suffix(".txt") if self.study
                                         else self.settings.last_folder("report")))
        path, _ = QFileDialog.getSaveFileName(self, "Save report", start, REPORT_FILTER)
        return bool(path) and self._save_report_to(Path(path))

    def _save_report_to(self, path: Path) -> bool:
        try:
            saved = self.editor.save(path)
        except CXRError as exc:
            self.show_error(str(exc))
            return False
        self.show_status(f"Saved report {saved}")
        return True

    def _export_start(self, suffix: str) -> str:
        folder = Path(self.settings.last_folder("export") or ".")
        stem = self.study.path.stem if self.study else "cxr"
        return str(folder / f"{stem}{suffix}")

    def choose_export_image(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export image", self._export_start(
            "-view.png"), "PNG images (*.png)")
        if path:
            self.export_image(Path(path))

    def choose_export_json(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export result", self._export_start(
            "-result.json"), "JSON (*.json)")
        if path:
            self.export_result(Path(path))

    def export_image(self, path: Path) -> bool:
        """Save the image at full resolution as displayed (window/level, invert, heatmap)."""
        if self.study is None:
            self.show_error("Open an image before exporting.")
            return False
        if not self.viewer.render_image().save(str(path), "PNG"):
            self.show_error(f"Cannot write {path}: check the folder exists and is writable.")
            return False
        self.settings.set_last_folder("export", Path(path).parent)
        self.show_status(f"Exported {path}")
        return True

    def result_dict(self) -> dict:
        """The current result: Prediction.to_dict() + file + report used."""
        data = self.prediction.to_dict()
        data["file"] = str(self.study.path)
        data["report"] = self.editor.report() if self.prediction.used_report else None
        return data

    def export_result(self, path: Path) -> bool:
        """Save the current result as JSON."""
        if self.prediction is None or self.study is None:
            self.show_error("There is no result to export yet.")
            return False
        try:
            Path(path).write_text(json.dumps(self.result_dict(), indent=2) + "\n",
                                  encoding="utf-8")
        except OSError as exc:
            self.show_error(f"Cannot write {path}: {exc.strerror or exc}")
            return False
        self.settings.set_last_folder("export", Path(path).parent)
        self.show_status(f"Exported {path}")
        return True

    # ------------------------------------------------------------------ dialogs
    def open_batch_scan(self) -> BatchScanDialog:
        if self.batch is None:
            self.batch = BatchScanDialog(self.factory, self.settings, self)
            self.batch.open_requested.connect(self.open_image)
            if self.study is not None:
                self.batch.folder_edit.setText(str(self.study.path.parent))
        self.batch.show()
        self.batch.raise_()
        return self.batch

    def show_about(self) -> AboutDialog:
        model = self.service.predict_worker.model  # set once in its thread, then only read
        self.about = AboutDialog(self.card, self.model_error, self,
                                 getattr(model, "precision", None))
        self.about.show()
        return self.about

    # ------------------------------------------------------------------ events
    def dragEnterEvent(self, event) -> None:
        accept_file_drag(event)

    def dropEvent(self, event: QDropEvent) -> None:
        paths = dropped_paths(event)
        if paths:
            event.acceptProposedAction()
            self.open_files(paths)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """File drops on the report editor open them instead of pasting their URLs."""
        if event.type() in (QEvent.Type.DragEnter, QEvent.Type.DragMove) and \
                dropped_paths(event):
            event.acceptProposedAction()
            return True
        if event.type() == QEvent.Type.Drop and dropped_paths(event):
            event.acceptProposedAction()
            self.open_files(dropped_paths(event))
            return True
        return super().eventFilter(watched, event)

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self.confirm_discard_report():
            event.ignore()
            return
        self.settings.set_geometry(self.saveGeometry())
        self.settings.sync()
        if self.batch is not None:
            self.batch.shutdown()
        self.service.shutdown()
        event.accept()
