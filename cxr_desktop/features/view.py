"""Looking at the image: zoom, fit, 1:1, invert, window/level presets, the W/L readout and
the corner overlays (O)."""

from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtGui import QActionGroup, QKeySequence
from PySide6.QtWidgets import QComboBox, QLabel, QMenu

from cxr_desktop.actions import make_action
from cxr_desktop.session import Session
from cxr_desktop.viewer.view import PRESETS, XrayViewer
from cxr_desktop.workers.reading import OpenedImage


class ViewFeature(QObject):
    """Owns the XrayViewer and the actions that change how the image is shown."""

    def __init__(self, session: Session, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.viewer = XrayViewer()
        viewer = self.viewer
        key = QKeySequence.StandardKey
        self.fit_action = make_action(
            self, "&Fit to window", viewer.fit, ["F", "Ctrl+0"], icon_name="arrows-maximize"
        )
        self.actual_action = make_action(
            self, "&Actual size (1:1)", viewer.actual_size, ["1", "Ctrl+1"], icon_name="zoom-reset"
        )
        self.zoom_in_action = make_action(
            self, "Zoom &in", viewer.zoom_in, ["+", "=", key.ZoomIn], icon_name="zoom-in"
        )
        self.zoom_out_action = make_action(
            self, "Zoom &out", viewer.zoom_out, ["-", key.ZoomOut], icon_name="zoom-out"
        )
        self.invert_action = make_action(
            self, "&Invert", viewer.set_inverted, "I", True, icon_name="contrast"
        )
        self.reset_window_action = make_action(self, "&Reset window/level", self.reset_window, "W")
        self.corners_action = make_action(
            self,
            "Corner &overlays",
            viewer.set_corners_visible,
            "O",
            True,
            "patient, study, image and display facts in the image corners",
            "info-square",
        )
        self.corners_action.setChecked(True)
        self.presets_menu = QMenu("Window &presets")
        group = QActionGroup(self)
        for name in PRESETS:
            action = self.presets_menu.addAction(name)
            action.triggered.connect(lambda _=False, n=name: self.apply_preset(n))
            group.addAction(action)
        self.preset_combo = QComboBox()
        self.preset_combo.addItems(list(PRESETS))
        self.preset_combo.setToolTip("Window/level preset (right-drag to adjust)")
        self.preset_combo.textActivated.connect(self.apply_preset)
        self.window_label = QLabel()
        viewer.window_changed.connect(self._show_window)
        session.study_changed.connect(self._on_study)
        self._enable(False)

    @property
    def zoom_actions(self) -> list:
        return [self.fit_action, self.actual_action, self.zoom_in_action, self.zoom_out_action]

    def _enable(self, has_image: bool) -> None:
        for action in [*self.zoom_actions, self.invert_action, self.reset_window_action]:
            action.setEnabled(has_image)

    def _on_study(self, study: OpenedImage) -> None:
        self.viewer.set_image(study.image)
        self.invert_action.setChecked(False)
        self.preset_combo.setCurrentText("Default")
        self._enable(True)

    def apply_preset(self, name: str) -> None:
        self.viewer.apply_preset(name)
        self.preset_combo.setCurrentText(name)

    def reset_window(self) -> None:
        self.apply_preset("Default")

    def _show_window(self, center: float, width: float) -> None:
        self.window_label.setText(f"W {width:.4g}  L {center:.4g}")
