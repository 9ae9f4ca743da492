"""Distance and angle measurements drawn on the image.

Each measurement is a graphics item in scene coordinates, which are image pixels, so it
follows zoom and pan; its label keeps its screen size. Distances are in millimetres from
the DICOM pixel spacing (PixelSpacing, else ImagerPixelSpacing), in pixels without one.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QBrush, QColor, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsPathItem, QGraphicsSimpleTextItem

COLOUR = QColor(255, 214, 0)
TOOLS = ("pan", "distance", "angle")


def distance_text(a: QPointF, b: QPointF, spacing: tuple[float, float] | None) -> str:
    """Length of a-b: mm with `spacing` (row, column mm per pixel), else pixels."""
    dx, dy = b.x() - a.x(), b.y() - a.y()
    if spacing is None:
        return f"{math.hypot(dx, dy):.1f} pixels"
    return f"{math.hypot(dx * spacing[1], dy * spacing[0]):.1f} mm"


def angle_degrees(
    a: QPointF, vertex: QPointF, c: QPointF, spacing: tuple[float, float] | None = None
) -> float:
    """The angle a-vertex-c in degrees (0 to 180), in physical units when pixels are not
    square."""
    rows, cols = spacing or (1.0, 1.0)
    ax, ay = (a.x() - vertex.x()) * cols, (a.y() - vertex.y()) * rows
    cx, cy = (c.x() - vertex.x()) * cols, (c.y() - vertex.y()) * rows
    if (ax, ay) == (0, 0) or (cx, cy) == (0, 0):
        return 0.0
    return abs(math.degrees(math.atan2(ax * cy - ay * cx, ax * cx + ay * cy)))


class Measurement(QGraphicsPathItem):
    """A distance (2 points) or an angle (3 points: arm, vertex, arm) with its label."""

    def __init__(self, kind: str, spacing: tuple[float, float] | None, start: QPointF) -> None:
        super().__init__()
        if kind not in ("distance", "angle"):
            raise ValueError(f"unknown measurement {kind!r}")
        self.kind = kind
        self.spacing = spacing
        self.points = [QPointF(start), QPointF(start)]
        pen = QPen(COLOUR, 2)
        pen.setCosmetic(True)  # 2 screen pixels at any zoom
        self.setPen(pen)
        self.setZValue(2)
        self.label = QGraphicsSimpleTextItem(self)
        self.label.setBrush(QBrush(COLOUR))
        self.label.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        self._update()

    @property
    def complete(self) -> bool:
        return len(self.points) == (2 if self.kind == "distance" else 3)

    def move_last(self, point: QPointF) -> None:
        self.points[-1] = QPointF(point)
        self._update()

    def add_point(self, point: QPointF) -> None:
        self.points.append(QPointF(point))
        self._update()

    def text(self) -> str:
        if self.kind == "distance" or len(self.points) < 3:
            return distance_text(self.points[0], self.points[-1], self.spacing)
        return f"{angle_degrees(*self.points, self.spacing):.1f}°"

    def _update(self) -> None:
        path = QPainterPath(self.points[0])
        for point in self.points[1:]:
            path.lineTo(point)
        self.setPath(path)
        self.label.setText(self.text())
        anchor = (
            self.points[1] if self.kind == "angle" else ((self.points[0] + self.points[-1]) / 2)
        )
        self.label.setPos(anchor)


def tool_cursor(tool: str) -> Qt.CursorShape:
    return Qt.CursorShape.OpenHandCursor if tool == "pan" else Qt.CursorShape.CrossCursor
