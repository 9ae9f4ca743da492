"""Batch scan dialog: rows of the scan worker stream into a table (and its CSV). The source
is a folder, or a PACS query whose studies are retrieved and scored."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QModelIndex, QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from cxr_desktop.dialogs.pacs_dialog import node_picker
from cxr_desktop.workers.pacs import pacs_for
from cxr_desktop.workers.prediction import ModelFactory
from cxr_desktop.workers.scanning import ScanWorker
from cxr_desktop.workers.threads import start_in_thread, stop_thread
from cxr_model.dicom_net.query import StudyQuery, parse_modalities

CSV_NAME = "cxr-scan.csv"
PACS_CSV_NAME = "cxr-pacs-scan.csv"
COLUMNS = (
    ("file", "File"),
    ("probability", "Probability"),
    ("image_probability", "Image only"),
    ("text_probability", "Text only"),
    ("label", "Label"),
    ("uncertain", "Uncertain"),
    ("discordant", "Discordant"),
    ("ood", "OOD"),
    ("ood_reason", "OOD reason"),
    ("error", "Error"),
)
SORT_ROLE = Qt.ItemDataRole.UserRole
PATH_ROLE = Qt.ItemDataRole.UserRole + 1


def output_problem(csv_path: Path) -> str | None:
    """Why the CSV cannot be written (checked before scanning), or None if it can."""
    parent = csv_path.parent
    if csv_path.is_dir():
        return f"{csv_path} is a folder; choose a .csv file name"
    if not parent.is_dir():
        what = "is not a folder" if parent.exists() or _under_a_file(parent) else "does not exist"
        return f"cannot write the CSV: {parent} {what}"
    existed = csv_path.exists()
    try:
        with open(csv_path, "a", encoding="utf-8"):
            pass
    except OSError as exc:
        return f"cannot write the CSV {csv_path}: {exc.strerror or exc} (read-only location?)"
    if not existed:
        csv_path.unlink(missing_ok=True)
    return None


def _under_a_file(path: Path) -> bool:
    return any(parent.is_file() for parent in path.parents) or path.is_file()


def _item(text: str, sort_value: Any = None) -> QStandardItem:
    item = QStandardItem(text)
    item.setEditable(False)
    item.setData(text if sort_value is None else sort_value, SORT_ROLE)
    return item


def row_items(row: dict, folder: Path) -> list[QStandardItem]:
    """Table cells of one result row."""
    items = []
    for key, _ in COLUMNS:
        value = row.get(key)
        if isinstance(value, float):
            items.append(_item(f"{value:.3f}", value))
        elif isinstance(value, bool):
            items.append(_item("yes" if value else "no", int(value)))
        elif value is None:
            items.append(_item("", -1.0 if key != "file" else ""))
        else:
            items.append(_item(str(value)))
    items[0].setData(str(folder / row["file"]), PATH_ROLE)
    if row.get("error"):
        items[-1].setToolTip(row["error"])
    return items


class BatchScanDialog(QDialog):
    """Pick a folder and CSV, scan, watch results stream in; double-click opens a study."""

    open_requested = Signal(object)  # Path of an image
    _run = Signal(object, object, bool)
    _run_pacs = Signal(object, object, object, object)
    _set_factory = Signal(object)

    def __init__(
        self, factory: ModelFactory, settings: Any = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Batch folder scan")
        self.resize(980, 620)
        self.settings = settings
        self.folder_edit = QLineEdit()
        self.folder_edit.setPlaceholderText("Folder of X-ray images (x.txt beside x.png = report)")
        self.csv_edit = QLineEdit()
        self.csv_edit.setPlaceholderText(f"Output CSV (default <folder>/{CSV_NAME})")
        self.recursive = QCheckBox("Include subfolders")
        self.source = QComboBox()
        self.source.addItems(["Folder", "PACS query"])
        self.source.currentIndexChanged.connect(self._show_source)
        self.node_combo = node_picker(settings) if settings is not None else QComboBox()
        self.pacs_patient = QLineEdit()
        self.pacs_patient.setPlaceholderText("Patient ID (wildcards * ?)")
        self.pacs_date = QLineEdit()
        self.pacs_date.setPlaceholderText("Study date YYYYMMDD or YYYYMMDD-YYYYMMDD")
        self.pacs_modality = QLineEdit("CR,DX")
        self.pacs_box = QWidget()
        pacs_row = QHBoxLayout(self.pacs_box)
        pacs_row.setContentsMargins(0, 0, 0, 0)
        for widget in (
            QLabel("Node"),
            self.node_combo,
            self.pacs_patient,
            self.pacs_date,
            QLabel("Modalities"),
            self.pacs_modality,
        ):
            pacs_row.addWidget(widget)
        folder_button = QPushButton("Browse…")
        folder_button.clicked.connect(self.choose_folder)
        csv_button = QPushButton("Browse…")
        csv_button.clicked.connect(self.choose_csv)
        self.start_button = QPushButton("Start scan")
        self.start_button.setDefault(True)
        self.start_button.clicked.connect(self.start)
        self.cancel_button = QPushButton("Cancel scan")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        self.progress = QProgressBar()
        self.status = QLabel("Choose a folder and start the scan.")
        self.status.setWordWrap(True)
        self.filter_edit = QLineEdit()
        self.filter_edit.setPlaceholderText("Filter rows (any column, e.g. abnormal, yes, .png)")
        self.model = QStandardItemModel(0, len(COLUMNS), self)
        self.model.setHorizontalHeaderLabels([title for _, title in COLUMNS])
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(SORT_ROLE)
        self.proxy.setFilterKeyColumn(-1)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.filter_edit.textChanged.connect(self.proxy.setFilterFixedString)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.doubleClicked.connect(self._open_row)
        self.table.setToolTip("Double-click a row to open the study in the viewer")

        form = QGridLayout()
        form.addWidget(QLabel("Source"), 0, 0)
        form.addWidget(self.source, 0, 1)
        form.addWidget(self.pacs_box, 1, 1)
        self.folder_label = QLabel("Folder")
        form.addWidget(self.folder_label, 2, 0)
        form.addWidget(self.folder_edit, 2, 1)
        form.addWidget(folder_button, 2, 2)
        form.addWidget(QLabel("Output CSV"), 3, 0)
        form.addWidget(self.csv_edit, 3, 1)
        form.addWidget(csv_button, 3, 2)
        form.addWidget(self.recursive, 4, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.progress, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(self.status)
        layout.addWidget(self.filter_edit)
        layout.addWidget(self.table, 1)

        self.worker = ScanWorker(factory)
        self._run.connect(self.worker.run)
        self._run_pacs.connect(self.worker.run_pacs)
        self._set_factory.connect(self.worker.set_factory)
        self.worker.started.connect(self._on_started)
        self.worker.row_ready.connect(self._on_row)
        self.worker.failed.connect(self._on_failed)
        self.worker.finished.connect(self._on_finished)
        self.thread = start_in_thread(self.worker, "cxr-scan")
        self.running = False
        self.folder: Path | None = None
        self.csv_path: Path | None = None
        self._total = 0
        self._done = 0
        self._skipped = 0
        self._t0 = 0.0
        self._show_source()

    def set_factory(self, factory: ModelFactory) -> None:
        """Scan with another model (after the scan running now, if any)."""
        self._set_factory.emit(factory)

    # ------------------------------------------------------------------ choosing
    def from_pacs(self) -> bool:
        return self.source.currentIndex() == 1

    def _show_source(self) -> None:
        pacs = self.from_pacs()
        self.pacs_box.setVisible(pacs)
        self.recursive.setVisible(not pacs)
        self.folder_label.setText("Keep images in" if pacs else "Folder")
        self.folder_edit.setPlaceholderText(
            "Folder for the retrieved studies"
            if pacs
            else "Folder of X-ray images (x.txt beside x.png = report)"
        )

    def choose_folder(self) -> None:
        start = self.settings.last_folder("scan") if self.settings else ""
        folder = QFileDialog.getExistingDirectory(self, "Folder to scan", start)
        if folder:
            self.folder_edit.setText(folder)

    def choose_csv(self) -> None:
        start = self.csv_edit.text() or self.folder_edit.text()
        path, _ = QFileDialog.getSaveFileName(self, "Output CSV", start, "CSV files (*.csv)")
        if path:
            self.csv_edit.setText(path)

    # ------------------------------------------------------------------ running
    def start(self) -> bool:
        """Check the inputs and start the scan; False (with a message) if it cannot run."""
        if self.running:
            return False
        text = self.folder_edit.text().strip()
        if not text:
            return self._refuse(
                "Choose a folder to scan."
                if not self.from_pacs()
                else "Choose a folder for the retrieved studies."
            )
        folder = Path(text).expanduser()
        if self.from_pacs():
            return self._start_pacs(folder)
        if not folder.is_dir():
            return self._refuse(f"{folder} is not a folder.")
        csv_path = Path(self.csv_edit.text().strip() or folder / CSV_NAME).expanduser()
        problem = output_problem(csv_path)
        if problem:
            return self._refuse(problem)
        if self.settings is not None:
            self.settings.set_last_folder("scan", folder)
        self._begin(folder, csv_path, "Loading the model and listing files…")
        self._run.emit(folder, csv_path, self.recursive.isChecked())
        return True

    def _start_pacs(self, folder: Path) -> bool:
        """Scan the studies a PACS query finds, keeping them in `folder`."""
        address = self.node_combo.currentData()
        if not address:
            return self._refuse("Add a PACS node first (File > Open from PACS, Add…).")
        try:
            pacs = pacs_for(self.settings, address)
            query = StudyQuery(
                patient_id=self.pacs_patient.text().strip() or None,
                study_date=self.pacs_date.text().strip() or None,
                modalities=parse_modalities(self.pacs_modality.text()),
            )
            folder.mkdir(parents=True, exist_ok=True)
        except ValueError as exc:
            return self._refuse(str(exc))
        except OSError as exc:
            return self._refuse(f"cannot use {folder}: {exc.strerror or exc}")
        csv_path = Path(self.csv_edit.text().strip() or folder / PACS_CSV_NAME).expanduser()
        problem = output_problem(csv_path)
        if problem:
            return self._refuse(problem)
        self._begin(folder, csv_path, f"Searching {pacs.node} and loading the model…")
        self._run_pacs.emit(pacs, query, folder, csv_path)
        return True

    def _begin(self, folder: Path, csv_path: Path, text: str) -> None:
        if self.csv_path != csv_path or self.folder != folder:
            self.model.removeRows(0, self.model.rowCount())
        self.folder, self.csv_path = folder, csv_path
        self.csv_edit.setText(str(csv_path))
        self.worker.cancel.clear()
        self.running = True
        self._set_running(True)
        self.status.setText(text)

    def _refuse(self, message: str) -> bool:
        self.status.setText(f"<span style='color:#b00'>{message}</span>")
        return False

    def cancel(self) -> None:
        """Stop after the file being scored; rows already written stay in the CSV."""
        if self.running:
            self.worker.cancel.set()
            self.status.setText("Cancelling…")

    def _set_running(self, running: bool) -> None:
        self.start_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)

    def _on_started(self, total: int, skipped: int) -> None:
        self._total, self._done, self._t0 = total, 0, time.monotonic()
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(0)
        self._skipped = skipped
        self._update_status()

    def _on_row(self, row: dict) -> None:
        self._done += 1
        self.model.appendRow(row_items(row, self.folder or Path()))
        self.progress.setValue(self._done)
        self._update_status()

    def _update_status(self) -> None:
        text = f"{self._done} of {self._total} files scored"
        if self._skipped:
            text += f" ({self._skipped} already in the CSV, skipped)"
        if 0 < self._done < self._total:
            left = (time.monotonic() - self._t0) / self._done * (self._total - self._done)
            text += f" — about {_duration(left)} left"
        self.status.setText(text)

    def _on_failed(self, message: str) -> None:
        self.running = False
        self._set_running(False)
        self._refuse(f"Scan failed: {message}")

    def _on_finished(self, cancelled: bool) -> None:
        self.running = False
        self._set_running(False)
        errors = sum(
            1 for r in range(self.model.rowCount()) if self.model.item(r, len(COLUMNS) - 1).text()
        )
        parts = [
            f"{'Cancelled' if cancelled else 'Done'}: {self._done} of {self._total} files scored"
        ]
        if errors:
            parts.append(f"{errors} with errors")
        if self._skipped:
            parts.append(f"{self._skipped} skipped (already scored)")
        self.status.setText(", ".join(parts) + f". Results in {self.csv_path}")

    def _open_row(self, index: QModelIndex) -> None:
        source = self.proxy.mapToSource(index)
        path = self.model.item(source.row(), 0).data(PATH_ROLE)
        if path:
            self.open_requested.emit(Path(path))

    # ------------------------------------------------------------------ teardown
    def shutdown(self) -> None:
        """Cancel any scan and stop the worker thread."""
        self.worker.cancel.set()
        stop_thread(self.thread)

    def closeEvent(self, event) -> None:
        self.cancel()
        super().closeEvent(event)


def _duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    return f"{seconds // 60} min {seconds % 60:02d} s" if seconds >= 60 else f"{seconds} s"
