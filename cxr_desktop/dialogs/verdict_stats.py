"""Worklist > Verdict statistics…: how often the radiologist agreed with the AI, and the AI's
sensitivity and specificity against the verdicts, per model version, with the counts."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QDialog, QLabel, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

from cxr_model.feedback.stats import ModelStats, figure_texts

COLUMNS = (
    "Model",
    "Version",
    "Verdicts",
    "Agreement",
    "Sensitivity",
    "Specificity",
    "Not gradable",
    "No AI label",
)


def stats_cells(stats: ModelStats) -> list[str]:
    """One model's row."""
    figures = figure_texts(stats)
    return [
        stats.model,
        stats.version,
        str(stats.verdicts),
        figures["agreement"],
        figures["sensitivity"],
        figures["specificity"],
        str(stats.ungradable),
        str(stats.no_label),
    ]


class VerdictStatsDialog(QDialog):
    """A non-modal table of the figures, filled by `show_stats`."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Verdict statistics")
        self.note = QLabel("Reading the verdicts…")
        self.note.setWordWrap(True)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setStretchLastSection(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.note)
        layout.addWidget(self.table, 1)
        self.resize(820, 260)

    def show_stats(self, stats: list[ModelStats], db: Path) -> None:
        self.table.setRowCount(len(stats))
        for row, model in enumerate(stats):
            for column, text in enumerate(stats_cells(model)):
                self.table.setItem(row, column, QTableWidgetItem(text))
        self.table.resizeColumnsToContents()
        self.note.setText(
            f"Current verdicts in {db}: the AI's label against the radiologist's ground truth. "
            "Not-gradable verdicts and results without an AI label are left out of the figures."
            if stats
            else f"No verdicts yet in {db}."
        )
