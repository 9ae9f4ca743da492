"""Help > About: the model card, data attribution and the not-a-medical-device notice."""

from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QWidget

from cxr_desktop.actions import make_action
from cxr_desktop.dialogs.about import AboutDialog
from cxr_desktop.session import Session
from cxr_desktop.workers.prediction import PredictService


class HelpFeature(QObject):
    """Owns the About action; the dialog shows the models in use when it opens."""

    def __init__(self, session: Session, service: PredictService, window: QWidget) -> None:
        super().__init__(window)
        self.session = session
        self.service = service
        self.window = window
        self.about: AboutDialog | None = None
        self.about_action = make_action(self, "&About CXR Desktop", self.show_about)

    def show_about(self) -> AboutDialog:
        self.about = AboutDialog(
            self.session.cards, self.session.model_error, self.window, self.service.precision
        )
        self.about.show()
        return self.about
