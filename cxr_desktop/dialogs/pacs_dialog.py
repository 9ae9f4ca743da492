"""File > Open from PACS: nodes, a study search, and a retrieve that runs in the background
with progress and cancel; the study's first frontal chest image then opens in the viewer."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from cxr_desktop.dialogs.pacs_nodes import NodeEditor
from cxr_desktop.pacs_security import SECRETS, NodeSecurity
from cxr_desktop.settings import AppSettings
from cxr_desktop.workers.pacs import PacsService, pacs_for
from cxr_model.dicom_net.client import Pacs
from cxr_model.dicom_net.instances import not_scored_reason
from cxr_model.dicom_net.query import StudyQuery, parse_modalities
from cxr_model.imaging.dicom_meta import parse_date

COLUMNS = ("Date", "Patient ID", "Patient name", "Accession", "Modalities", "Description", "Images")


def first_frontal(files: list[Path]) -> Path | None:
    """The first retrieved file that the model scores (a frontal chest radiograph)."""
    from pydicom import dcmread

    for path in sorted(files):
        try:
            if not_scored_reason(dcmread(path, stop_before_pixels=True)) is None:
                return path
        except Exception:  # an unreadable file is simply not the one
            continue
    return None


def display_date(value: str | None) -> str | None:
    """DICOM `YYYYMMDD` as `YYYY-MM-DD` (anything else as it came)."""
    date = parse_date(value or "")
    return date.isoformat() if date else value


def display_name(value: str | None) -> str | None:
    """A DICOM person name `Family^Given` as `Family, Given`."""
    return ", ".join(p for p in value.split("^") if p) if value else value


def node_picker(settings: AppSettings) -> QComboBox:
    """A combo box of the saved nodes (name shown, address as data)."""
    combo = QComboBox()
    for node in settings.pacs_nodes():
        combo.addItem(node["name"], node["address"])
    return combo


class PacsDialog(QDialog):
    """Search a node and retrieve a study; emits `open_requested` with the image to open."""

    open_requested = Signal(object)  # Path

    def __init__(
        self,
        settings: AppSettings,
        service: PacsService,
        cache_dir: Path,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Open from PACS")
        self.settings, self.service, self.cache_dir = settings, service, Path(cache_dir)
        self.studies: list = []
        self.busy = False

        self.node_combo = node_picker(settings)
        self.add_button = QPushButton("Add…")
        self.edit_button = QPushButton("Edit…")
        self.remove_button = QPushButton("Remove")
        self.test_button = QPushButton("Test")
        self.add_button.clicked.connect(self.add_node)
        self.edit_button.clicked.connect(self.edit_node)
        self.remove_button.clicked.connect(self.remove_node)
        self.test_button.clicked.connect(self.test_node)
        nodes = QHBoxLayout()
        nodes.addWidget(QLabel("Node"))
        nodes.addWidget(self.node_combo, 1)
        for button in (self.add_button, self.edit_button, self.remove_button, self.test_button):
            nodes.addWidget(button)

        self.patient_id = QLineEdit()
        self.patient_name = QLineEdit()
        self.patient_name.setPlaceholderText("wildcards * ?")
        self.study_date = QLineEdit()
        self.study_date.setPlaceholderText("YYYYMMDD or YYYYMMDD-YYYYMMDD")
        self.accession = QLineEdit()
        self.modality = QLineEdit("CR,DX")
        self.search_button = QPushButton("Search")
        self.search_button.setDefault(True)
        self.search_button.clicked.connect(self.search)
        fields = QGridLayout()
        for row, (label, edit) in enumerate(
            (
                ("Patient ID", self.patient_id),
                ("Patient name", self.patient_name),
                ("Study date", self.study_date),
            )
        ):
            fields.addWidget(QLabel(label), row, 0)
            fields.addWidget(edit, row, 1)
        for row, (label, edit) in enumerate(
            (("Accession", self.accession), ("Modalities", self.modality))
        ):
            fields.addWidget(QLabel(label), row, 2)
            fields.addWidget(edit, row, 3)
        fields.addWidget(self.search_button, 2, 3)

        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.doubleClicked.connect(self.retrieve)

        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.progress.setFormat("%v of %m instance(s)")
        self.progress.hide()
        self.status = QLabel("Choose a node, search, then retrieve a study.")
        self.status.setWordWrap(True)
        self.retrieve_button = QPushButton("Retrieve and open")
        self.retrieve_button.clicked.connect(self.retrieve)
        self.cancel_button = QPushButton("Cancel retrieve")
        self.cancel_button.clicked.connect(self.service.cancel)
        self.cancel_button.setEnabled(False)
        close = QPushButton("Close")
        close.clicked.connect(self.close)
        bottom = QHBoxLayout()
        bottom.addWidget(self.progress, 1)
        bottom.addWidget(self.retrieve_button)
        bottom.addWidget(self.cancel_button)
        bottom.addWidget(close)

        layout = QVBoxLayout(self)
        layout.addLayout(nodes)
        layout.addLayout(fields)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.status)
        layout.addLayout(bottom)
        self.resize(900, 560)

        worker = service.worker
        worker.echoed.connect(lambda node: self._done(f"{node} answers."))
        worker.found.connect(self._on_found)
        worker.progress.connect(self.progress.setValue)
        worker.retrieved.connect(self._on_retrieved)
        worker.failed.connect(lambda message: self._done(message, error=True))
        self._update_buttons()

    # ----------------------------------------------------------------- nodes
    def _save_nodes(self) -> None:
        self.settings.set_pacs_nodes(
            [
                {"name": self.node_combo.itemText(i), "address": self.node_combo.itemData(i)}
                for i in range(self.node_combo.count())
            ]
        )
        self._update_buttons()

    def _keep_security(self, editor: NodeEditor, old_address: str | None = None) -> None:
        """The editor's TLS files and user in the settings, its secret in the keyring."""
        address = editor.node()["address"]
        if old_address is not None and old_address != address:
            self._forget_security(old_address)
        security = editor.security()
        self.settings.set_node_security(address, security)
        if not security.needs_secret:
            SECRETS.forget(address)
        elif editor.secret() is not None:
            SECRETS.save(address, editor.secret())

    def _forget_security(self, address: str) -> None:
        self.settings.set_node_security(address, NodeSecurity())
        SECRETS.forget(address)

    def add_node(self) -> None:
        editor = NodeEditor(self)
        if editor.exec() == QDialog.DialogCode.Accepted:
            node = editor.node()
            self._keep_security(editor)
            self.node_combo.addItem(node["name"], node["address"])
            self.node_combo.setCurrentIndex(self.node_combo.count() - 1)
            self._save_nodes()

    def edit_node(self) -> None:
        index = self.node_combo.currentIndex()
        if index < 0:
            return
        address = self.node_combo.itemData(index)
        editor = NodeEditor(
            self, self.node_combo.itemText(index), address, self.settings.node_security(address)
        )
        if editor.exec() == QDialog.DialogCode.Accepted:
            node = editor.node()
            self._keep_security(editor, address)
            self.node_combo.setItemText(index, node["name"])
            self.node_combo.setItemData(index, node["address"])
            self._save_nodes()

    def remove_node(self) -> None:
        if self.node_combo.currentIndex() >= 0:
            self._forget_security(self.node_combo.currentData())
            self.node_combo.removeItem(self.node_combo.currentIndex())
            self._save_nodes()

    def pacs(self) -> Pacs | None:
        """The chosen node as seen from our AE title, or None (with the reason shown)."""
        address = self.node_combo.currentData()
        if not address:
            self._done("Add a node first (Add…).", error=True)
            return None
        try:
            return pacs_for(self.settings, address)
        except ValueError as exc:
            self._done(str(exc), error=True)
            return None

    # ----------------------------------------------------------------- work
    def _start(self, text: str) -> None:
        self.busy = True
        self.status.setStyleSheet("")
        self.status.setText(text)
        self._update_buttons()

    def _done(self, text: str, error: bool = False) -> None:
        self.busy = False
        self.status.setStyleSheet("color: #b00020" if error else "")
        self.status.setText(text)
        self.progress.hide()
        self._update_buttons()

    def _update_buttons(self) -> None:
        has_node = self.node_combo.count() > 0
        for button in (self.test_button, self.search_button):
            button.setEnabled(has_node and not self.busy)
        self.edit_button.setEnabled(has_node and not self.busy)
        self.remove_button.setEnabled(has_node and not self.busy)
        self.retrieve_button.setEnabled(bool(self.studies) and not self.busy)
        self.cancel_button.setEnabled(self.busy and self.progress.isVisible())

    def test_node(self) -> None:
        pacs = self.pacs()
        if pacs is not None:
            self._start(f"Testing {pacs.node}…")
            self.service.echo(pacs)

    def query(self) -> StudyQuery:
        """The search fields as a query; ValueError for a bad date or modality."""

        def text(edit: QLineEdit) -> str | None:
            return edit.text().strip() or None

        return StudyQuery(
            patient_id=text(self.patient_id),
            patient_name=text(self.patient_name),
            study_date=text(self.study_date),
            accession=text(self.accession),
            modalities=parse_modalities(self.modality.text()),
        )

    def search(self) -> None:
        pacs = self.pacs()
        if pacs is None:
            return
        try:
            query = self.query()
        except ValueError as exc:
            self._done(str(exc), error=True)
            return
        self._start(f"Searching {pacs.node}…")
        self.service.find(pacs, query)

    def _on_found(self, studies: list, truncated: bool) -> None:
        self.studies = studies
        self.table.setRowCount(len(studies))
        for row, study in enumerate(studies):
            values = (
                display_date(study.study_date),
                study.patient_id,
                display_name(study.patient_name),
                study.accession,
                ",".join(study.modalities or []),
                study.description,
                study.instances,
            )
            for column, value in enumerate(values):
                self.table.setItem(
                    row, column, QTableWidgetItem("" if value is None else str(value))
                )
        if studies:
            self.table.selectRow(0)
        more = " (more match: narrow the search)" if truncated else ""
        self._done(f"{len(studies)} study(ies) found{more}.")

    def retrieve(self) -> None:
        row = self.table.currentRow()
        pacs = self.pacs()
        if pacs is None or not 0 <= row < len(self.studies) or self.busy:
            return
        study = self.studies[row]
        self.progress.setRange(0, max(study.instances or 0, 1))
        self.progress.setValue(0)
        self.progress.show()
        self._start(f"Retrieving study {study.study_uid} from {pacs.node}…")  # no patient data
        self.service.retrieve(pacs, study.study_uid, self.cache_dir)

    def _on_retrieved(self, files: list[Path]) -> None:
        image = first_frontal(files)
        if image is None:
            self._done(
                f"Retrieved {len(files)} instance(s); none is a frontal chest X-ray "
                "the model can read.",
                error=True,
            )
            return
        self._done(
            f"Retrieved {len(files)} instance(s) into {self.cache_dir}; opening the "
            "first frontal chest image."
        )
        self.open_requested.emit(image)
