"""The X-ray viewer: full-depth window/level, invert, zoom/pan, the heatmap overlay, corner
texts and distance/angle measurements."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QDragEnterEvent,
    QDropEvent,
    QImage,
    QMouseEvent,
    QPainter,
    QPixmap,
    QTransform,
    QWheelEvent,
)
from PySide6.QtWidgets import QGraphicsPixmapItem, QGraphicsScene, QGraphicsView, QWidget

from cxr_desktop.viewer.corners import CornerTexts, corner_texts, paint_corners
from cxr_desktop.viewer.drops import accept_file_drag, dropped_paths
from cxr_desktop.viewer.measure import TOOLS, Measurement, tool_cursor
from cxr_desktop.viewer.qimages import gray_qimage, overlay_rgba, rgba_qimage
from cxr_model.imaging.dicom_meta import pixel_spacing_mm
from cxr_model.imaging.reader import XrayImage
from cxr_model.inference.overlay import DEFAULT_OPACITY

ZOOM_STEP = 1.25
MIN_SCALE, MAX_SCALE = 0.02, 40.0
# Window presets as (center, width) fractions of the image's data range (1st-99th percentile),
# so they mean the same on 8-bit, 16-bit and float images.
PRESETS: dict[str, tuple[float, float] | None] = {
    "Default": None,
    "Full range": (0.5, 1.0),
    "Lung": (0.35, 0.7),
    "Soft tissue": (0.5, 0.45),
    "Bone": (0.75, 0.5),
}


CORNER_FONT_PX = 12


class XrayViewer(QGraphicsView):
    """Shows one XrayImage; right-drag (or Ctrl+left-drag) sets window/level; the left button
    pans, or measures with the distance and angle tools."""

    files_dropped = Signal(list)  # list[Path]
    window_changed = Signal(float, float)
    zoom_changed = Signal(float)
    measured = Signal(str)  # the text of a finished measurement

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self.setBackgroundBrush(QColor(20, 20, 20))
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        # corner texts are drawn in viewport coordinates: repaint all of it when panning
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.FullViewportUpdate)
        self.setAcceptDrops(True)
        self.image_item = QGraphicsPixmapItem()
        self.image_item.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
        self.overlay_item = QGraphicsPixmapItem()
        self.overlay_item.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
        self.overlay_item.setZValue(1)
        self.overlay_item.setVisible(False)
        self.scene().addItem(self.image_item)
        self.scene().addItem(self.overlay_item)
        self.image: XrayImage | None = None
        self.window: tuple[float, float] = (0.5, 1.0)
        self.inverted = False
        self.heat: np.ndarray | None = None
        self.opacity = DEFAULT_OPACITY
        self.overlay_wanted = False
        self.gray: np.ndarray | None = None
        self._range = (0.0, 1.0)
        self._fit = True
        self._wl_drag: tuple[QPoint, tuple[float, float]] | None = None
        self.corners_visible = False
        self.tool = "pan"
        self.spacing: tuple[float, float] | None = None
        self.measurements: list[Measurement] = []
        self._drawing: Measurement | None = None

    # ------------------------------------------------------------------ image
    def set_image(self, image: XrayImage) -> None:
        """Show a new image: default window, not inverted, no heatmap, fit to window."""
        self.image = image
        sample = image.pixels[
            :: max(1, image.pixels.shape[0] // 512), :: max(1, image.pixels.shape[1] // 512)
        ]
        low, high = np.percentile(sample.astype(np.float32), [1.0, 99.0])
        self._range = (float(low), float(max(high, low + 1e-6)))
        self.window = image.window
        self.inverted = False
        self.spacing = pixel_spacing_mm(image.meta)
        self.clear_measurements()
        self.set_heatmap(None)
        self._render()
        self.scene().setSceneRect(QRectF(self.image_item.pixmap().rect()))
        self.fit()

    def _render(self) -> None:
        if self.image is None:
            return
        gray = (self.image.to_unit(self.window) * 255.0 + 0.5).astype(np.uint8)
        if self.inverted:
            gray = 255 - gray
        self.gray = gray
        self.image_item.setPixmap(QPixmap.fromImage(gray_qimage(gray)))

    def set_window(self, center: float, width: float) -> None:
        """Window (center, width) in the image's own pixel units."""
        self.window = (float(center), max(float(width), 1e-6))
        self._render()
        self.window_changed.emit(*self.window)

    def reset_window(self) -> None:
        if self.image is not None:
            self.set_window(*self.image.window)

    def apply_preset(self, name: str) -> None:
        """Apply a named window preset (see PRESETS), relative to the data range."""
        if self.image is None:
            return
        fractions = PRESETS[name]
        if fractions is None:
            self.reset_window()
            return
        low, high = self._range
        span = high - low
        self.set_window(low + fractions[0] * span, fractions[1] * span)

    def set_inverted(self, inverted: bool) -> None:
        self.inverted = bool(inverted)
        self._render()

    # ------------------------------------------------------------------ overlay
    def set_heatmap(self, heat: np.ndarray | None) -> None:
        """Heatmap (h, w) in [0, 1] of any size (usually the model input's), or None to clear
        it: coloured once at its own size, scaled onto the whole image when painted."""
        if heat is not None and (heat.ndim != 2 or heat.size == 0):
            raise ValueError(f"a heatmap is a 2-D array, not {heat.shape}")
        self.heat = heat
        self._render_overlay()

    def set_opacity(self, opacity: float) -> None:
        self.opacity = min(1.0, max(0.0, float(opacity)))
        self._render_overlay()

    def set_overlay_visible(self, visible: bool) -> None:
        self.overlay_wanted = bool(visible)
        self.overlay_item.setVisible(self.overlay_wanted and self.heat is not None)

    def _render_overlay(self) -> None:
        if self.heat is None:
            self.overlay_item.setPixmap(QPixmap())
        else:
            rgba = overlay_rgba(self.heat, self.opacity)
            self.overlay_item.setPixmap(QPixmap.fromImage(rgba_qimage(rgba)))
            rect = self.image_item.boundingRect()
            height, width = self.heat.shape
            scale = QTransform.fromScale(rect.width() / width, rect.height() / height)
            self.overlay_item.setTransform(scale)
        self.overlay_item.setVisible(self.overlay_wanted and self.heat is not None)

    def render_image(self, corners: bool = False) -> QImage:
        """The image at full resolution as displayed: window/level, invert, visible heatmap,
        measurements; the corner texts only when `corners`."""
        rect = self.image_item.boundingRect()
        out = QImage(int(rect.width()), int(rect.height()), QImage.Format.Format_RGB32)
        out.fill(Qt.GlobalColor.black)
        painter = QPainter(out)
        self.scene().render(painter, QRectF(out.rect()), rect)
        texts = self.corner_texts(zoom=1.0)
        if corners and texts is not None:
            paint_corners(
                painter, QRectF(out.rect()), texts, max(CORNER_FONT_PX, out.height() // 45)
            )
        painter.end()
        return out

    # ------------------------------------------------------------------ corner texts
    def corner_texts(self, zoom: float | None = None) -> CornerTexts | None:
        """The corner texts of the image as shown (None without an image)."""
        if self.image is None:
            return None
        return corner_texts(self.image, self.window, self.scale_factor() if zoom is None else zoom)

    def set_corners_visible(self, visible: bool) -> None:
        self.corners_visible = bool(visible)
        self.viewport().update()

    def drawForeground(self, painter: QPainter, rect: QRectF) -> None:  # Qt API
        texts = self.corner_texts() if self.corners_visible else None
        if texts is not None:
            painter.save()
            painter.resetTransform()
            paint_corners(painter, QRectF(self.viewport().rect()), texts, CORNER_FONT_PX)
            painter.restore()

    # ------------------------------------------------------------------ measurements
    def set_tool(self, tool: str) -> None:
        """ "pan" (left-drag pans), "distance" or "angle" (left clicks measure)."""
        if tool not in TOOLS:
            raise ValueError(f"unknown tool {tool!r}")
        self._discard_drawing()
        self.tool = tool
        self.setDragMode(
            QGraphicsView.DragMode.ScrollHandDrag
            if tool == "pan"
            else QGraphicsView.DragMode.NoDrag
        )
        self.viewport().setCursor(tool_cursor(tool))

    def clear_measurements(self) -> None:
        self._discard_drawing()
        for item in self.measurements:
            self.scene().removeItem(item)
        self.measurements.clear()

    def _discard_drawing(self) -> None:
        if self._drawing is not None:
            self.scene().removeItem(self._drawing)
            self._drawing = None

    def _image_point(self, event: QMouseEvent) -> QPointF:
        """The event's position in image pixels, kept inside the image."""
        point = self.mapToScene(event.position().toPoint())
        rect = self.image_item.boundingRect()
        return QPointF(
            min(max(point.x(), 0.0), rect.width()), min(max(point.y(), 0.0), rect.height())
        )

    def _measure_press(self, point: QPointF) -> None:
        if self._drawing is None:
            self._drawing = Measurement(self.tool, self.spacing, point)
            self.scene().addItem(self._drawing)
        elif self._drawing.kind == "angle":
            self._drawing.move_last(point)
            if self._drawing.complete:
                self._finish_measurement()
            else:
                self._drawing.add_point(point)

    def _finish_measurement(self) -> None:
        item, self._drawing = self._drawing, None
        first, last = item.points[0], item.points[-1]
        if item.kind == "distance" and first == last:
            self.scene().removeItem(item)  # a click, not a drag
            return
        self.measurements.append(item)
        self.measured.emit(f"{item.kind.capitalize()}: {item.text()}")

    # ------------------------------------------------------------------ zoom / pan
    def scale_factor(self) -> float:
        return self.transform().m11()

    def fit(self) -> None:
        """Fit the whole image in the view (kept on resize until the user zooms)."""
        self._fit = True
        if not self.image_item.pixmap().isNull():
            self.fitInView(self.image_item, Qt.AspectRatioMode.KeepAspectRatio)
        self.zoom_changed.emit(self.scale_factor())

    def actual_size(self) -> None:
        """One image pixel per screen pixel."""
        self._fit = False
        self.resetTransform()
        self.zoom_changed.emit(self.scale_factor())

    def zoom(self, factor: float) -> None:
        target = min(MAX_SCALE, max(MIN_SCALE, self.scale_factor() * factor))
        self._fit = False
        self.scale(target / self.scale_factor(), target / self.scale_factor())
        self.zoom_changed.emit(self.scale_factor())

    def zoom_in(self) -> None:
        self.zoom(ZOOM_STEP)

    def zoom_out(self) -> None:
        self.zoom(1.0 / ZOOM_STEP)

    def wheelEvent(self, event: QWheelEvent) -> None:
        steps = event.angleDelta().y() / 120.0
        if steps:
            self.zoom(ZOOM_STEP**steps)
        event.accept()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self._fit:
            self.fit()

    # ------------------------------------------------------------------ window/level drag
    def _is_wl_press(self, event: QMouseEvent) -> bool:
        return event.button() == Qt.MouseButton.RightButton or (
            event.button() == Qt.MouseButton.LeftButton
            and event.modifiers() & Qt.KeyboardModifier.ControlModifier
        )

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if self.image is not None and self._is_wl_press(event):
            self._wl_drag = (event.position().toPoint(), self.window)
            event.accept()
            return
        if (
            self.image is not None
            and self.tool != "pan"
            and event.button() == Qt.MouseButton.LeftButton
        ):
            self._measure_press(self._image_point(event))
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:  # Qt API
        """Quick clicks of the angle tool are points, not a double click."""
        if self._drawing is not None and event.button() == Qt.MouseButton.LeftButton:
            self.mousePressEvent(event)
            return
        super().mouseDoubleClickEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._wl_drag is not None:
            start, (center, width) = self._wl_drag
            delta = event.position().toPoint() - start
            span = self._range[1] - self._range[0]
            per_pixel = span / 500.0  # 500 screen pixels sweep the whole data range
            self.set_window(
                center - delta.y() * per_pixel, max(width + delta.x() * per_pixel, span / 1000.0)
            )
            event.accept()
            return
        if self._drawing is not None:
            self._drawing.move_last(self._image_point(event))
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._wl_drag is not None:
            self._wl_drag = None
            event.accept()
            return
        if self._drawing is not None and self._drawing.kind == "distance":
            self._drawing.move_last(self._image_point(event))
            self._finish_measurement()
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def contextMenuEvent(self, event) -> None:
        event.accept()  # the right button is window/level, not a menu

    # ------------------------------------------------------------------ drag and drop
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        accept_file_drag(event)

    def dragMoveEvent(self, event) -> None:
        accept_file_drag(event)

    def dropEvent(self, event: QDropEvent) -> None:
        paths = dropped_paths(event)
        if paths:
            event.acceptProposedAction()
            self.files_dropped.emit(paths)
