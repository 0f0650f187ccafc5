"""Ctrl+F: find nodes by name, op or module path; Enter / Shift+Enter step through the hits."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QApplication, QFrame, QHBoxLayout, QLabel, QLineEdit, QToolButton


class SearchBar(QFrame):
    """Holds the query and the position among the hits; the window does the looking up."""

    query_changed = Signal(str)
    step = Signal(int)  # +1 next, -1 previous
    closed = Signal()

    def __init__(self, parent=None):
        super().__init__(parent, objectName="searchbar")
        self.edit = QLineEdit(clearButtonEnabled=True, placeholderText=(
            "Search name, op or module…  (Enter: next, Shift+Enter: previous)"))
        self.count = QLabel()
        prev = QToolButton(text="▲", toolTip="Previous (Shift+Enter)",
                           clicked=lambda: self.step.emit(-1))
        nxt = QToolButton(text="▼", toolTip="Next (Enter)", clicked=lambda: self.step.emit(1))
        close = QToolButton(text="✕", toolTip="Close (Esc)", clicked=self.close_bar)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(6, 3, 6, 3)
        for w in (self.edit, self.count, prev, nxt, close):
            lay.addWidget(w)
        self.edit.textChanged.connect(self.query_changed)
        self.edit.returnPressed.connect(self._on_return)
        self.hide()

    def open_bar(self) -> None:
        self.show()
        self.edit.setFocus()
        self.edit.selectAll()

    def close_bar(self) -> None:
        self.hide()
        self.closed.emit()

    def set_position(self, index: int | None, total: int) -> None:
        """``index`` of ``total`` hits is selected (None: the query changed, none is yet)."""
        if not self.edit.text().strip():
            text = ""
        elif not total:
            text = "no match"
        elif index is None:
            text = f"{total} match" + ("es" if total > 1 else "")
        else:
            text = f"{index + 1} of {total}"
        self.count.setText(text)

    def _on_return(self) -> None:
        back = QApplication.keyboardModifiers() & Qt.ShiftModifier
        self.step.emit(-1 if back else 1)

    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key_Escape:
            self.close_bar()
        else:
            super().keyPressEvent(event)
