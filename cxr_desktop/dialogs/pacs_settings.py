"""File > PACS settings: our AE title, the network timeout, and the cache of retrieved studies
(its folder and size, a limit, an age past which studies go at start, Clear cached studies)."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QDialog,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)

from cxr_desktop.dialogs.forms import ok_cancel, problem_label
from cxr_desktop.settings import AppSettings
from cxr_desktop.study_cache import human_size
from cxr_model.dicom_net.node import valid_aet

_GB = 1024**3


class PacsSettingsDialog(QDialog):
    """Edits the settings; `clear_requested` asks the owner to empty the cache (off the GUI
    thread), which answers with `show_size`."""

    clear_requested = Signal()

    def __init__(self, settings: AppSettings, cache_dir: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("PACS settings")
        self.settings = settings
        self.aet_edit = QLineEdit(settings.our_aet())
        self.timeout_spin = QDoubleSpinBox()
        self.timeout_spin.setRange(1, 600)
        self.timeout_spin.setSuffix(" s")
        self.timeout_spin.setValue(settings.pacs_timeout())
        self.folder_label = QLabel(cache_dir)
        self.folder_label.setWordWrap(True)
        self.size_label = QLabel("measuring…")
        self.limit_spin = QDoubleSpinBox()
        self.limit_spin.setRange(0.1, 10_000)
        self.limit_spin.setDecimals(1)
        self.limit_spin.setSuffix(" GB")
        self.limit_spin.setValue(settings.cache_limit_bytes() / _GB)
        self.age_spin = QSpinBox()
        self.age_spin.setRange(1, 3650)
        self.age_spin.setSuffix(" days")
        self.age_spin.setValue(settings.cache_max_age_days())
        self.clear_button = QPushButton("Clear cached studies")
        self.clear_button.clicked.connect(self._clear)
        self.problem = problem_label()
        buttons = ok_cancel(self)
        form = QFormLayout(self)
        form.addRow("Our AE title", self.aet_edit)
        form.addRow("Timeout", self.timeout_spin)
        form.addRow("Cached studies in", self.folder_label)
        form.addRow("Cache size", self.size_label)
        form.addRow("Cache limit (oldest removed first)", self.limit_spin)
        form.addRow("Remove studies retrieved more than", self.age_spin)
        form.addRow("", self.clear_button)
        form.addRow(self.problem)
        form.addRow(buttons)

    def show_size(self, size: int) -> None:
        self.size_label.setText(human_size(size))
        self.clear_button.setEnabled(size > 0)

    def _clear(self) -> None:
        self.clear_button.setEnabled(False)
        self.size_label.setText("clearing…")
        self.clear_requested.emit()

    def accept(self) -> None:
        try:
            aet = valid_aet(self.aet_edit.text())
        except ValueError as exc:
            self.problem.setText(str(exc))
            return
        self.settings.set_our_aet(aet)
        self.settings.set_pacs_timeout(self.timeout_spin.value())
        self.settings.set_cache_limit_bytes(int(self.limit_spin.value() * _GB))
        self.settings.set_cache_max_age_days(self.age_spin.value())
        super().accept()
