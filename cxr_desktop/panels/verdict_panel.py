"""The verdict box under the AI result: Agree / Disagree with the AI, or the ground truth
(normal / abnormal / not gradable), optionally with the report typed; and the verdict given."""

from __future__ import annotations

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QCheckBox, QGridLayout, QGroupBox, QLabel, QToolButton, QWidget


def _button(action: QAction) -> QToolButton:
    button = QToolButton()
    button.setDefaultAction(action)
    return button


class VerdictPanel(QGroupBox):
    """Buttons for the verdict actions, the 'with the report' choice and the current verdict."""

    def __init__(
        self, agree: list[QAction], truths: list[QAction], parent: QWidget | None = None
    ) -> None:
        super().__init__("Your verdict", parent)
        self.with_report = QCheckBox("with the report")
        self.with_report.setToolTip("keep the report in the editor with the verdict")
        self.with_report.setChecked(True)
        self.state = QLabel("No image open.")
        self.state.setWordWrap(True)
        grid = QGridLayout(self)
        grid.setContentsMargins(6, 6, 6, 6)
        for column, action in enumerate(agree):
            grid.addWidget(_button(action), 0, column)
        grid.addWidget(self.with_report, 0, len(agree), 1, 2)
        for column, action in enumerate(truths):
            grid.addWidget(_button(action), 1, column)
        grid.addWidget(self.state, 2, 0, 1, max(len(truths), len(agree) + 2))

    def show_state(self, text: str) -> None:
        self.state.setText(text)
