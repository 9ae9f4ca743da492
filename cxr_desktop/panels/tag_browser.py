"""The DICOM tag browser: the file's full header as a tree, searchable by name, keyword,
value or tag number; sequences expand; private tags are marked."""

from __future__ import annotations

import re

from PySide6.QtCore import QModelIndex, QSize, QSortFilterProxyModel, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QHeaderView, QLabel, QLineEdit, QTreeView, QVBoxLayout, QWidget

from cxr_model.imaging.dicom_header import HeaderElement

COLUMNS = ("Tag", "Name", "VR", "Value")
SEARCH_ROLE = Qt.ItemDataRole.UserRole + 1  # lower-case text a query is matched against
TAG_ROLE = Qt.ItemDataRole.UserRole + 2  # the tag as 8 hex digits ("00101010")
PRIVATE_ROLE = Qt.ItemDataRole.UserRole + 3
PRIVATE_COLOUR = QColor(142, 68, 173)
_TAG_QUERY = re.compile(r"^\(?\s*([0-9a-f]{4})\s*[,\s]?\s*([0-9a-f]{0,4})\s*\)?$")


def tag_query(text: str) -> str | None:
    """ "(0010,1010)", "0010,1010", "00101010", "0010" -> hex digits to match tags by; None
    when the text is not a tag number."""
    match = _TAG_QUERY.match(text.strip().lower())
    return match.group(1) + match.group(2) if match else None


def _row(element: HeaderElement) -> list[QStandardItem]:
    cells = [QStandardItem(text) for text in (element.tag, element.name, element.vr, element.value)]
    search = " ".join((element.name, element.keyword, element.value)).lower()
    for cell in cells:
        cell.setEditable(False)
        cell.setData(search, SEARCH_ROLE)
        cell.setData(element.tag.strip("()").replace(",", "").lower(), TAG_ROLE)
        cell.setData(element.private, PRIVATE_ROLE)
        if element.private:
            cell.setForeground(QBrush(PRIVATE_COLOUR))
            font = QFont()
            font.setItalic(True)
            cell.setFont(font)
            cell.setToolTip("Private tag: vendor-specific, not defined by the DICOM standard")
    if element.keyword:
        cells[1].setToolTip(element.keyword)
    for number, item in enumerate(element.items, start=1):
        child = [
            QStandardItem(f"Item {number}"),
            QStandardItem(""),
            QStandardItem(""),
            QStandardItem(f"{len(item)} elements"),
        ]
        for cell in child:
            cell.setEditable(False)
            cell.setData("", SEARCH_ROLE)
            cell.setData("", TAG_ROLE)
        for sub in item:
            child[0].appendRow(_row(sub))
        cells[0].appendRow(child)
    return cells


class TagFilter(QSortFilterProxyModel):
    """Keeps rows whose name, keyword or value contains the text, or whose tag starts with
    the tag number typed, with the sequences around them and the items inside them."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setRecursiveFilteringEnabled(True)
        self.text = ""
        self.tag: str | None = None

    def set_query(self, text: str) -> None:
        modern = hasattr(self, "beginFilterChange")  # Qt 6.9+; invalidateFilter before
        if modern:
            self.beginFilterChange()
        self.text = text.strip().lower()
        self.tag = tag_query(text)
        if modern:
            self.endFilterChange()
        else:
            self.invalidateFilter()

    def matches(self, index: QModelIndex) -> bool:
        if self.tag is not None and str(index.data(TAG_ROLE) or "").startswith(self.tag):
            return True
        return self.text in str(index.data(SEARCH_ROLE) or "")

    def filterAcceptsRow(self, row: int, parent: QModelIndex) -> bool:  # Qt API
        """A matching row, or any row inside a matching sequence."""
        if not self.text:
            return True
        index = self.sourceModel().index(row, 0, parent)
        while index.isValid():
            if self.matches(index):
                return True
            index = index.parent()
        return False


class TagBrowser(QWidget):
    """Search field + tree of the header of the open file."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Find a tag: name, keyword, value or number (0010,1010)")
        self.search.setClearButtonEnabled(True)
        self.model = QStandardItemModel(0, len(COLUMNS), self)
        self.model.setHorizontalHeaderLabels(list(COLUMNS))
        self.proxy = TagFilter(self)
        self.proxy.setSourceModel(self.model)
        self.tree = QTreeView()
        self.tree.setModel(self.proxy)
        self.tree.setUniformRowHeights(True)
        self.tree.setAlternatingRowColors(True)
        header = self.tree.header()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.search.textChanged.connect(self.find)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.search)
        layout.addWidget(self.note)
        layout.addWidget(self.tree, 1)
        self.set_header(())

    def sizeHint(self) -> QSize:  # Qt API: tag, name, VR and some of the value
        return QSize(540, 480)

    def set_header(self, header: tuple[HeaderElement, ...]) -> None:
        """Show a file's header (an empty one: "not a DICOM file")."""
        self.model.removeRows(0, self.model.rowCount())
        for element in header:
            self.model.appendRow(_row(element))
        private = sum(e.private for e in header)
        self.note.setText(
            f"{len(header)} elements, {private} private (in purple); pixel data is never shown"
            if header
            else "The open file is not DICOM: it has no tags."
        )
        self.find(self.search.text())

    def find(self, text: str) -> None:
        self.proxy.set_query(text)
        if text.strip():
            self.tree.expandAll()

    def visible_tags(self) -> list[str]:
        """The tags of the rows shown now, depth first (for tests and copy)."""
        out: list[str] = []

        def walk(parent: QModelIndex) -> None:
            for row in range(self.proxy.rowCount(parent)):
                index = self.proxy.index(row, 0, parent)
                out.append(str(index.data()))
                walk(index)

        walk(QModelIndex())
        return out
