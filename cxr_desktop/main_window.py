"""The main window: builds the features and places their widgets, menus and toolbar.

Nothing here owns a feature's state or logic; see `cxr_desktop.features`. Features are built
in dependency order, which is also the order in which they react to a new study: the report
is in the editor before the prediction that reads it is requested.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QCloseEvent, QKeySequence
from PySide6.QtWidgets import QLabel, QMainWindow, QSplitter, QToolBar, QVBoxLayout, QWidget

from cxr_desktop.actions import make_action
from cxr_desktop.dialogs.about import model_title
from cxr_desktop.features.batch import BatchFeature
from cxr_desktop.features.export import ExportFeature
from cxr_desktop.features.files import FilesFeature
from cxr_desktop.features.heatmap import HeatmapFeature
from cxr_desktop.features.help import HelpFeature
from cxr_desktop.features.inference import InferenceFeature
from cxr_desktop.features.measure import MeasureFeature
from cxr_desktop.features.model import ModelFeature
from cxr_desktop.features.pacs import PacsFeature
from cxr_desktop.features.report import ReportFeature
from cxr_desktop.features.study import StudyFeature
from cxr_desktop.features.tags import TagsFeature
from cxr_desktop.features.verdict import VerdictFeature
from cxr_desktop.features.view import ViewFeature
from cxr_desktop.features.worklist import WorklistFeature
from cxr_desktop.panels.message_bar import MessageBar
from cxr_desktop.session import Session
from cxr_desktop.settings import AppSettings
from cxr_desktop.workers.prediction import ModelFactory


class MainWindow(QMainWindow):
    """Viewer + report + AI result. `factory` makes the model (in the worker threads)."""

    def __init__(
        self, settings: AppSettings, factory: ModelFactory, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.settings = settings
        self.session = Session(self)
        self.message = MessageBar(self.statusBar())
        self.session.error.connect(self.message.show_error)
        self.session.status.connect(self.message.show_status)

        self.view = ViewFeature(self.session, self)
        self.report = ReportFeature(self.session, settings, self)
        self.files = FilesFeature(self.session, settings, self.report, self)
        self.inference = InferenceFeature(self.session, factory, self.report, self)
        self.heatmap = HeatmapFeature(
            self.session, self.inference.service, self.view.viewer, settings, self
        )
        self.export = ExportFeature(self.session, self.view.viewer, self.report, settings, self)
        self.batch = BatchFeature(self.session, factory, settings, self.files, self)
        self.measure = MeasureFeature(self.session, self.view.viewer, self)
        self.tags = TagsFeature(self.session, self)
        self.study = StudyFeature(self.session, factory, self.files, settings, self)
        self.model = ModelFeature(self.session, self.inference.service, settings, self)
        self.help = HelpFeature(self.session, self.inference.service, self)
        self.model.factory_changed.connect(self.study.set_factory)
        self.model.factory_changed.connect(self.batch.set_factory)
        self.pacs = PacsFeature(self.session, settings, self.files, self)
        self.worklist = WorklistFeature(self.session, factory, settings, self.study, self)
        self.model.factory_changed.connect(self.worklist.set_factory)
        self.verdict = VerdictFeature(self.session, settings, self.report, self)

        self._build_layout()
        self._build_menus()
        self._build_toolbar()
        self.statusBar().addPermanentWidget(self.view.window_label)
        self.view.viewer.files_dropped.connect(self.files.open_files)
        self.files.accept_drops_on(self)
        self.files.accept_drops_on(self.report.editor.edit.viewport())
        self.session.study_changed.connect(self._update_title)
        self.session.model_changed.connect(self._update_title)

        geometry = settings.geometry()
        if geometry is None or not self.restoreGeometry(geometry):
            self.resize(1400, 900)
        self._update_title()
        self.statusBar().showMessage("Open an X-ray (Ctrl+O) or drop one on the window.")

    def _build_layout(self) -> None:
        side = QWidget()
        column = QVBoxLayout(side)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.inference.panel)
        column.addWidget(self.pacs.send_button)
        column.addWidget(self.verdict.panel)
        column.addWidget(self.report.editor, 1)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.view.viewer)
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
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.study.dock)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.tags.dock)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.worklist.dock)

    def _build_menus(self) -> None:
        menu = self.menuBar().addMenu("&File")
        menu.addActions(
            [
                self.files.open_action,
                self.study.open_folder_action,
                self.pacs.open_action,
                self.report.open_action,
            ]
        )
        menu.addMenu(self.files.recent_menu)
        menu.addAction(self.pacs.settings_action)
        menu.addSeparator()
        menu.addActions([self.report.save_action, self.report.save_as_action])
        menu.addSeparator()
        menu.addActions(
            [self.export.image_action, self.export.json_action, self.export.corners_action]
        )
        menu.addSeparator()
        menu.addAction(self.batch.action)
        menu.addSeparator()
        menu.addAction(make_action(self, "&Quit", self.close, QKeySequence.StandardKey.Quit))

        view = self.menuBar().addMenu("&View")
        view.addActions(self.view.zoom_actions)
        view.addSeparator()
        view.addActions(
            [self.heatmap.action, self.view.invert_action, self.view.reset_window_action]
        )
        view.addMenu(self.view.presets_menu)
        view.addSeparator()
        view.addAction(self.view.corners_action)
        view.addSeparator()
        view.addActions([*self.measure.tool_actions, self.measure.clear_action])
        view.addSeparator()
        view.addActions([self.study.action, self.tags.action, self.worklist.action])
        worklist = self.menuBar().addMenu("&Worklist")
        worklist.addActions(
            [
                self.worklist.receive_action,
                self.worklist.stop_action,
                self.worklist.follow_action,
                self.worklist.action,
            ]
        )
        worklist.addSeparator()
        worklist.addActions([self.verdict.agree_action, self.verdict.disagree_action])
        worklist.addActions(list(self.verdict.truth_actions.values()))
        worklist.addSeparator()
        worklist.addAction(self.verdict.stats_action)
        self.menuBar().addMenu("&Model").addActions(
            [self.model.open_action, self.model.fp32_action]
        )
        self.menuBar().addMenu("&Help").addAction(self.help.about_action)

    def _build_toolbar(self) -> None:
        bar = QToolBar("Main")
        bar.setObjectName("mainToolbar")
        bar.setMovable(False)
        self.addToolBar(bar)
        bar.addActions(
            [
                self.files.open_action,
                self.study.open_folder_action,
                self.batch.action,
                self.export.image_action,
            ]
        )
        bar.addSeparator()
        bar.addActions(self.view.zoom_actions)
        bar.addSeparator()
        bar.addWidget(QLabel(" W/L "))
        bar.addWidget(self.view.preset_combo)
        bar.addAction(self.view.invert_action)
        bar.addSeparator()
        bar.addActions([*self.measure.tool_actions, self.measure.clear_action])
        bar.addSeparator()
        bar.addActions([self.view.corners_action, self.study.action, self.tags.action])
        bar.addSeparator()
        bar.addAction(self.heatmap.action)
        bar.addWidget(QLabel(" Opacity "))
        bar.addWidget(self.heatmap.opacity_slider)
        bar.addWidget(QLabel(" Target "))
        bar.addWidget(self.heatmap.target_combo)
        bar.addWidget(self.heatmap.note)

    def _update_title(self) -> None:
        study, cards = self.session.study, self.session.cards
        parts = ["CXR Desktop", study.path.name if study else "no image"]
        if len(cards) == 1:
            parts.append(f"model: {model_title(cards[0])}")
        elif cards:
            parts.append("models: " + ", ".join(card.short_name for card in cards))
        self.setWindowTitle(" — ".join(parts))

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self.report.confirm_discard():
            event.ignore()
            return
        self.settings.set_geometry(self.saveGeometry())
        self.settings.sync()
        self.batch.shutdown()
        self.study.shutdown()
        self.pacs.shutdown()
        self.worklist.shutdown()
        self.verdict.shutdown()
        self.inference.shutdown()
        self.files.shutdown()
        event.accept()
