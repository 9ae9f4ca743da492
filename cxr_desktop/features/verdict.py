"""The radiologist's verdict on the study in view: Agree / Disagree with the AI's label, or
the ground truth (normal / abnormal / not gradable), optionally with the typed report; kept
in the verdicts database (on its worker) with who, when, the model and the AI's result."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QWidget

from cxr_desktop.actions import make_action
from cxr_desktop.dialogs.verdict_stats import VerdictStatsDialog
from cxr_desktop.features.report import ReportFeature
from cxr_desktop.panels.verdict_panel import VerdictPanel
from cxr_desktop.session import Session
from cxr_desktop.settings import AppSettings
from cxr_desktop.workers.feedback import FeedbackService
from cxr_model.feedback.store import Verdict, make_verdict
from cxr_model.vocabulary import Label, Reading, Truth

#: The ground-truth choices: (truth, button text, shortcut).
TRUTHS = (
    (Truth.NORMAL, "&Normal", "Shift+N"),
    (Truth.ABNORMAL, "A&bnormal", "Shift+A"),
    (Truth.UNGRADABLE, "Not &gradable", "Shift+G"),
)


class VerdictFeature(QObject):
    """Owns the verdict actions, the verdict box and the statistics view."""

    saved = Signal(object)  # Verdict, once it is in the database

    def __init__(
        self, session: Session, settings: AppSettings, report: ReportFeature, window: QWidget
    ) -> None:
        super().__init__(window)
        self.session, self.report, self.window = session, report, window
        self.agree_action = make_action(
            self, "A&gree", lambda: self._judge(agree=True), "Y", tip="the AI's label is right"
        )
        self.disagree_action = make_action(
            self,
            "&Disagree",
            lambda: self._judge(agree=False),
            "X",
            tip="the AI's label is wrong: the other label is the truth",
        )
        self.truth_actions = {
            truth: make_action(
                self, text, lambda *_, t=truth: self.give(t), key, tip=f"ground truth: {truth}"
            )
            for truth, text, key in TRUTHS
        }
        self.stats_action = make_action(
            self, "Verdict &statistics…", self.show_stats, tip="agreement with the AI per model"
        )
        self.panel = VerdictPanel(
            [self.agree_action, self.disagree_action], list(self.truth_actions.values())
        )
        self.service = FeedbackService(settings.feedback_db, self)
        self.service.worker.saved.connect(self._on_saved)
        self.service.worker.found.connect(self._on_found)
        self.service.worker.failed.connect(self._on_failed)
        self.stats_dialog: VerdictStatsDialog | None = None
        session.study_changed.connect(self._on_study)
        session.prediction_changed.connect(lambda _p: self._update())
        self._update()

    def _subject(self) -> str:
        study = self.session.study
        if study is None:
            return ""
        return study.image.meta.get("SOPInstanceUID", "") or str(Path(study.path).resolve())

    def _update(self) -> None:
        prediction = self.session.prediction
        labelled = prediction is not None and prediction.reading != Reading.NO_LABEL
        for action in (self.agree_action, self.disagree_action):
            action.setEnabled(labelled)
        for action in self.truth_actions.values():
            action.setEnabled(self.session.study is not None)

    def _on_study(self, _study) -> None:
        self._update()
        self.panel.show_state("Looking up the verdict on this image…")
        self.service.lookup(self._subject())

    def _judge(self, agree: bool) -> None:
        prediction = self.session.prediction
        if prediction is None or prediction.reading == Reading.NO_LABEL:
            self.session.show_error("no AI label to agree with: choose the ground truth instead")
            return
        other = Label.NORMAL if prediction.label == Label.ABNORMAL else Label.ABNORMAL
        self.give(Truth(prediction.label if agree else other))

    def give(self, truth: Truth) -> None:
        """Keep `truth` as the verdict on the image in view (with the AI's result shown)."""
        study = self.session.study
        if study is None:
            self.session.show_error("open an image first: a verdict is on the image in view")
            return
        report = (self.report.report() or "") if self.panel.with_report.isChecked() else ""
        verdict = make_verdict(
            study.path, truth, study.image.meta, self.session.card, self.session.prediction, report
        )
        self.panel.show_state(f"Keeping the verdict {truth}…")
        self.service.add(verdict)

    def _on_saved(self, verdict: Verdict) -> None:
        if verdict.subject == self._subject():
            self._on_found(verdict.subject, verdict)
        self.session.show_status(f"verdict kept: {verdict.summary} on {Path(verdict.image).name}")
        self.saved.emit(verdict)

    def _on_found(self, subject: str, verdict: Verdict | None) -> None:
        if subject != self._subject():
            return
        if verdict is None:
            self.panel.show_state("No verdict on this image yet.")
        else:
            when = verdict.at.replace("T", " ")[:16]
            self.panel.show_state(f"Verdict: {verdict.summary}, by {verdict.who} at {when}")

    def _on_failed(self, message: str) -> None:
        self.panel.show_state(message)
        self.session.show_error(message)

    def show_stats(self) -> VerdictStatsDialog:
        """The statistics view (non-modal), refreshed each time it is asked for."""
        if self.stats_dialog is None:
            self.stats_dialog = VerdictStatsDialog(self.window)
            self.service.worker.stats.connect(self.stats_dialog.show_stats)
        self.service.figures()
        self.stats_dialog.show()
        self.stats_dialog.raise_()
        return self.stats_dialog

    def shutdown(self) -> None:
        self.service.shutdown()
