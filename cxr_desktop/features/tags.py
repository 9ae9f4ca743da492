"""View > DICOM tags (T): a dock with the open file's full header, searchable."""

from __future__ import annotations

from PySide6.QtCore import QObject

from cxr_desktop.actions import make_dock
from cxr_desktop.panels.tag_browser import TagBrowser
from cxr_desktop.session import Session
from cxr_desktop.workers.reading import OpenedImage


class TagsFeature(QObject):
    """Owns the tag browser dock (hidden until asked for) and its toggle action; the header
    itself is read with the study, on the read worker."""

    def __init__(self, session: Session, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.browser = TagBrowser()
        self.dock, self.action = make_dock(
            "DICOM tags",
            "tagsDock",
            self.browser,
            "DICOM &tags",
            "T",
            "the full DICOM header of the open file, searchable",
            "tags",
        )
        session.study_changed.connect(self._on_study)

    def _on_study(self, study: OpenedImage) -> None:
        self.browser.set_header(study.header)
