"""Measuring on the image: pan (Esc), distance (D) and angle (A) tools; clear."""

from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtGui import QActionGroup

from cxr_desktop.actions import make_action
from cxr_desktop.session import Session
from cxr_desktop.viewer.view import XrayViewer
from cxr_desktop.workers.reading import OpenedImage


class MeasureFeature(QObject):
    """Owns the tool actions (one checked at a time); the viewer draws the measurements."""

    def __init__(self, session: Session, viewer: XrayViewer, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.viewer = viewer
        self.pan_action = make_action(
            self,
            "&Pan",
            lambda on: on and viewer.set_tool("pan"),
            "Esc",
            True,
            "left-drag moves the image",
            "hand-stop",
        )
        self.distance_action = make_action(
            self,
            "Measure &distance",
            lambda on: on and viewer.set_tool("distance"),
            "D",
            True,
            "drag a line: millimetres from the DICOM pixel spacing, else pixels",
            "ruler-measure",
        )
        self.angle_action = make_action(
            self,
            "Measure an&gle",
            lambda on: on and viewer.set_tool("angle"),
            "A",
            True,
            "click an arm's end, the vertex, then the other arm's end",
            "angle",
        )
        self.clear_action = make_action(
            self, "&Clear measurements", viewer.clear_measurements, "Shift+Del", icon_name="eraser"
        )
        group = QActionGroup(self)
        for action in self.tool_actions:
            group.addAction(action)
        self.pan_action.setChecked(True)
        viewer.measured.connect(session.show_status)
        session.study_changed.connect(self._on_study)
        self._enable(False)

    @property
    def tool_actions(self) -> list:
        return [self.pan_action, self.distance_action, self.angle_action]

    def _enable(self, has_image: bool) -> None:
        for action in [*self.tool_actions, self.clear_action]:
            action.setEnabled(has_image)

    def _on_study(self, _study: OpenedImage) -> None:
        self._enable(True)
