"""The study panel: the open study's images as thumbnails, grouped by study and series;
frontal images carry their score, the others say why they are not scored."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QFont, QIcon, QPixmap
from PySide6.QtWidgets import QLabel, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from cxr_desktop.panels.result_panel import answered_text, out_of_population_text, verdict_text
from cxr_desktop.viewer.qimages import gray_qimage
from cxr_desktop.workers.study import THUMBNAIL_PX
from cxr_model.imaging.dicom_meta import parse_date
from cxr_model.imaging.studies import StudyGroup, StudyImage
from cxr_model.inference.predictor import Prediction

PATH_ROLE = Qt.ItemDataRole.UserRole


def _study_title(study: StudyGroup) -> str:
    day = parse_date(study.date)
    parts = [
        day.isoformat() if day else study.date,
        study.description,
        study.patient.replace("^", " "),
    ]
    title = " · ".join(p for p in parts if p) or "Study without date or description"
    return f"{title} ({len(study.images)} image{'s' * (len(study.images) != 1)})"


def _image_lines(image: StudyImage, status: str) -> str:
    return f"{image.view.view if image.view.view != 'unknown' else image.path.name}\n{status}"


class StudyPanel(QWidget):
    """Tree of studies > series > images; clicking an image asks to open it."""

    open_requested = Signal(object)  # Path

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel("No study: open a DICOM file or a study folder.")
        self.title.setWordWrap(True)
        self.tree = QTreeWidget()
        self.tree.setHeaderHidden(True)
        self.tree.setIconSize(QSize(THUMBNAIL_PX, THUMBNAIL_PX))
        self.tree.itemClicked.connect(self._on_click)
        self.tree.itemActivated.connect(self._on_click)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.title)
        layout.addWidget(self.tree, 1)
        self.folder: Path | None = None
        self.images: dict[Path, tuple[QTreeWidgetItem, StudyImage]] = {}

    def sizeHint(self) -> QSize:  # Qt API: room for a thumbnail and its score
        return QSize(THUMBNAIL_PX + 230, 480)

    def show_loading(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.tree.clear()
        self.images.clear()
        self.title.setText(f"Reading {folder.name}…")

    def show_studies(self, studies: list[StudyGroup], unreadable: list[tuple[Path, str]]) -> None:
        """Lay out the studies; images wait for their thumbnail and score."""
        self.tree.clear()
        self.images.clear()
        bold = QFont()
        bold.setBold(True)
        for study in studies:
            top = QTreeWidgetItem([_study_title(study)])
            top.setFont(0, bold)
            top.setToolTip(0, f"{_study_title(study)}\nStudy Instance UID {study.uid or '(none)'}")
            self.tree.addTopLevelItem(top)
            for series in study.series:
                name = " · ".join(
                    p for p in (f"Series {series.number}".strip(), series.description) if p
                )
                branch = QTreeWidgetItem(top, [name])
                branch.setToolTip(0, f"Series Instance UID {series.uid or '(none)'}")
                for image in series.images:
                    status = "scoring…" if image.view.scored else "not scored"
                    leaf = QTreeWidgetItem(branch, [_image_lines(image, status)])
                    leaf.setData(0, PATH_ROLE, str(image.path))
                    leaf.setToolTip(0, f"{image.path.name}\n{image.view.reason}".strip())
                    self.images[image.path] = (leaf, image)
        self.tree.expandAll()
        where = self.folder.name if self.folder else ""
        text = (
            f"{len(studies)} stud{'ies' if len(studies) != 1 else 'y'} in {where}"
            if studies
            else f"No DICOM study in {where}."
        )
        if unreadable:
            text += f"; {len(unreadable)} file(s) could not be read"
            self.title.setToolTip("\n".join(f"{p.name}: {why}" for p, why in unreadable))
        self.title.setText(text)

    def show_image(
        self, path: Path, small: np.ndarray | None, prediction: Prediction | None, note: str
    ) -> None:
        """An image's thumbnail and its score, or why it has none."""
        entry = self.images.get(Path(path))
        if entry is None:
            return
        leaf, image = entry
        if small is not None:
            leaf.setIcon(0, QIcon(QPixmap.fromImage(gray_qimage(small))))
        if prediction is not None:
            status = verdict_text(prediction)
            why = out_of_population_text(prediction) if not prediction.has_label else ""
            lines = [image.path.name, f"P(abnormal) {status}", answered_text(prediction), why]
            leaf.setToolTip(0, "\n".join(line for line in lines if line))
            if prediction.model:  # which model scored it: each image gets its own
                status += f" · {prediction.model.split(' ')[0]}"
        elif note:
            status = note if len(note) < 40 else note[:39] + "…"
            leaf.setToolTip(0, f"{image.path.name}\n{note}")
        else:
            status = f"not scored: {image.view.reason.split(':')[0]}"
        leaf.setText(0, _image_lines(image, status))

    def status_of(self, path: Path) -> str:
        """The text shown for an image (tests)."""
        return self.images[Path(path)][0].text(0)

    def select(self, path: Path) -> None:
        entry = self.images.get(Path(path))
        if entry is not None:
            self.tree.setCurrentItem(entry[0])

    def _on_click(self, item: QTreeWidgetItem, _column: int = 0) -> None:
        path = item.data(0, PATH_ROLE)
        if path:
            self.open_requested.emit(Path(path))
