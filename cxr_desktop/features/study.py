"""The study panel dock: the open study's images (a DICOM's folder, grouped by Study and
Series Instance UID) as thumbnails, frontal ones scored; File > Open study folder…"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QFileDialog

from cxr_desktop.actions import make_action, make_dock
from cxr_desktop.features.files import FilesFeature
from cxr_desktop.panels.study_panel import StudyPanel
from cxr_desktop.session import Session
from cxr_desktop.settings import AppSettings
from cxr_desktop.workers.prediction import ModelFactory
from cxr_desktop.workers.reading import OpenedImage
from cxr_desktop.workers.study import StudyService


class StudyFeature(QObject):
    """Owns the study dock, its worker (own model for scoring) and the folder action."""

    def __init__(
        self,
        session: Session,
        factory: ModelFactory,
        files: FilesFeature,
        settings: AppSettings,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.session = session
        self.files = files
        self.settings = settings
        self.panel = StudyPanel()
        self.dock, self.action = make_dock(
            "Study",
            "studyDock",
            self.panel,
            "S&tudy panel",
            "S",
            "the images of the open study",
            "layout-grid",
        )
        self.open_folder_action = make_action(
            self,
            "Open &study folder…",
            self.choose_folder,
            "Ctrl+Shift+O",
            tip="the DICOM files of a folder, grouped by study and series",
            icon_name="folders",
        )
        self.service = StudyService(factory, self)
        self.service.listed.connect(self._on_listed)
        self.service.image_done.connect(self.panel.show_image)
        self.service.failed.connect(session.show_error)
        self.panel.open_requested.connect(self._open)
        session.study_changed.connect(self._on_study)
        self._open_first = False
        self._open_image: Path | None = None
        self._reveal_if_several = False

    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self.panel.window(), "Open study folder", self.settings.last_folder("image")
        )
        if folder:
            self.show_folder(Path(folder), open_first=True)

    def show_folder(
        self,
        folder: Path,
        study_uid: str = "",
        open_first: bool = False,
        image: Path | None = None,
    ) -> None:
        """Show the studies of `folder` (only `study_uid` when given); once they are listed,
        open `image`, or with `open_first` the first scored image. With `image`, the files
        in subfolders count too (a listener's STUDY/SERIES/SOP.dcm)."""
        self._open_first, self._reveal_if_several = open_first, False
        self._open_image = image
        self.panel.show_loading(Path(folder))
        self.service.load(Path(folder), study_uid, recursive=image is not None)
        self.dock.show()

    def _follow(self, folder: Path, study_uid: str) -> None:
        """The study of a DICOM file just opened: the dock shows itself only when that study
        has other images."""
        self._open_first, self._open_image = False, None
        self._reveal_if_several = not self.dock.isVisible()
        self.panel.show_loading(Path(folder))
        self.service.load(Path(folder), study_uid)

    def set_factory(self, factory: ModelFactory) -> None:
        """Score with another model (Model > Open model folder…)."""
        self.service.set_factory(factory)

    def _on_study(self, study: OpenedImage) -> None:
        if Path(study.path) in self.panel.images:
            self.panel.select(study.path)
        elif study.image.format == "DICOM":
            self._follow(study.path.parent, study.image.meta.get("StudyInstanceUID", ""))

    def _on_listed(self, studies: list, unreadable: list) -> None:
        self.panel.show_studies(studies, unreadable)
        if self._reveal_if_several and sum(len(s.images) for s in studies) > 1:
            self.dock.show()
        self._reveal_if_several = False
        current = self.session.study
        if current is not None:
            self.panel.select(current.path)
        first = next((i.path for s in studies for i in s.images if i.view.scored), None)
        wanted = self._open_image or (first if self._open_first else None)
        if wanted is not None:
            self.files.open_image(wanted)
        self._open_first, self._open_image = False, None

    def _open(self, path: Path) -> None:
        current = self.session.study
        if current is None or Path(current.path) != Path(path):
            self.files.open_image(path)

    def shutdown(self) -> None:
        self.service.shutdown()
