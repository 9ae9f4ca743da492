"""The worklist panel: the studies a listener received, abnormal first, sortable by any
column, with the verdict given on each and a banner when an abnormal study arrives."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from cxr_model.feedback.store import Verdict
from cxr_model.vocabulary import Reading
from cxr_model.worklist.store import WorklistRow

COLUMNS = (
    "#",
    "Received",
    "Patient",
    "Age/sex",
    "Accession",
    "View",
    "P(abnormal)",
    "Label",
    "Verdict",
    "Model",
)
ROW_ROLE = Qt.ItemDataRole.UserRole
SORT_ROLE = Qt.ItemDataRole.UserRole + 1
_COLOURS = {Reading.ABNORMAL: "#b71c1c", Reading.UNCERTAIN: "#8a6d00", Reading.NORMAL: "#1b5e20"}


class _Item(QTableWidgetItem):
    """A cell that sorts by its SORT_ROLE value (numbers as numbers, empty last)."""

    def __lt__(self, other: QTableWidgetItem) -> bool:
        mine, theirs = self.data(SORT_ROLE), other.data(SORT_ROLE)
        return (mine is None, mine if mine is not None else 0) < (
            theirs is None,
            theirs if theirs is not None else 0,
        )


def _cells(position: int, row: WorklistRow, verdict: Verdict | None) -> list[tuple[str, object]]:
    """(text, sort value) per column."""
    received = row.received.replace("T", " ")[:19]
    probability = "" if row.probability is None else f"{row.probability:.1%}"
    return [
        (str(position), position),
        (received, received),
        (row.patient, row.patient.lower()),
        (row.age_sex, row.age_years),
        (row.accession, row.accession),
        (row.view, row.view),
        (probability, row.probability),
        (row.label_text, position),  # the label column sorts in triage order
        (verdict.summary if verdict else "", verdict.summary if verdict else None),
        (row.model, row.model),
    ]


class WorklistPanel(QWidget):
    """Table of WorklistRow; activating a row (double-click, Enter) asks to open its study."""

    open_requested = Signal(object)  # WorklistRow

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel("No worklist: Worklist > Start receiving… or Follow a folder…")
        self.title.setWordWrap(True)
        self.banner = QLabel()
        self.banner.setObjectName("worklistBanner")
        self.banner.setWordWrap(True)
        self.banner.setStyleSheet(
            "background:#fdecea;color:#611a15;padding:4px;border:1px solid #f5c6cb;"
        )
        self.dismiss = QPushButton("Dismiss")
        self.dismiss.clicked.connect(self.hide_banner)
        banner_row = QHBoxLayout()
        banner_row.addWidget(self.banner, 1)
        banner_row.addWidget(self.dismiss)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.table.itemActivated.connect(self._on_activated)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.title)
        layout.addLayout(banner_row)
        layout.addWidget(self.table, 1)
        self.rows: list[WorklistRow] = []
        self.hide_banner()

    def show_rows(
        self, folder: Path, rows: list[WorklistRow], verdicts: dict[str, Verdict]
    ) -> None:
        """Replace the table (rows in triage order); keeps the user's sort and selection."""
        selected = self.selected()
        header = self.table.horizontalHeader()
        column, order = header.sortIndicatorSection(), header.sortIndicatorOrder()
        self.table.setSortingEnabled(False)
        self.table.setRowCount(len(rows))
        for index, row in enumerate(rows):
            cells = _cells(index + 1, row, verdicts.get(row.study_uid))
            for col, (text, key) in enumerate(cells):
                item = _Item(text)
                item.setData(SORT_ROLE, key)
                item.setData(ROW_ROLE, index)
                item.setToolTip(f"{text}\n{row.images} image(s), study {row.study_uid}")
                if COLUMNS[col] in ("Label", "P(abnormal)") and row.reading in _COLOURS:
                    item.setForeground(QColor(_COLOURS[Reading(row.reading)]))
                self.table.setItem(index, col, item)
        self.rows = list(rows)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(column, order)
        done = sum(r.study_uid in verdicts for r in rows)
        self.title.setText(
            f"{len(rows)} stud{'ies' if len(rows) != 1 else 'y'} in {folder}, {done} with a verdict"
        )
        self.title.setToolTip(str(folder))
        if selected is not None:
            self.select(selected.study_uid)

    def show_problem(self, text: str) -> None:
        """The worklist cannot be read now (kept as it was): say why."""
        self.title.setText(text)

    def notify(self, text: str) -> None:
        """A non-modal notification above the table until dismissed."""
        self.banner.setText(text)
        self.banner.show()
        self.dismiss.show()

    def hide_banner(self) -> None:
        self.banner.hide()
        self.dismiss.hide()

    def row_at(self, table_row: int) -> WorklistRow:
        """The study shown at a table row (as sorted now)."""
        return self.rows[self.table.item(table_row, 0).data(ROW_ROLE)]

    def shown(self) -> list[WorklistRow]:
        """The studies in the order the table shows them."""
        return [self.row_at(i) for i in range(self.table.rowCount())]

    def text_of(self, study_uid: str, column: str) -> str:
        """A cell's text (tests, screenshots)."""
        index = next(i for i, r in enumerate(self.shown()) if r.study_uid == study_uid)
        return self.table.item(index, COLUMNS.index(column)).text()

    def selected(self) -> WorklistRow | None:
        items = self.table.selectedItems()
        return self.row_at(items[0].row()) if items else None

    def select(self, study_uid: str) -> None:
        for index, row in enumerate(self.shown()):
            if row.study_uid == study_uid:
                self.table.selectRow(index)

    def _on_activated(self, item: QTableWidgetItem) -> None:
        self.open_requested.emit(self.row_at(item.row()))
