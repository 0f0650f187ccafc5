"""The colour legend drawn over the view's corner when nodes are coloured by gradient norm."""

from __future__ import annotations

from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QVBoxLayout, QWidget


class Legend(QFrame):
    def __init__(self, parent=None):
        super().__init__(parent, objectName="legend")
        self._lay = QVBoxLayout(self)
        self._lay.setContentsMargins(8, 6, 8, 6)
        self._lay.setSpacing(2)
        self.hide()

    def set_entries(self, title: str, entries: list[tuple[str, str]]) -> None:
        """``entries``: (colour, text) pairs, as ``Layout.legend`` gives them."""
        # hidden while rebuilt: rows added to a shown widget are shown only later, and until
        # then its size leaves them out (it shrank to a blank corner on a restyle)
        self.hide()
        while self._lay.count():
            self._lay.takeAt(0).widget().deleteLater()
        self._lay.addWidget(QLabel(f"<b>{title}</b>"))
        for colour, text in entries:
            row = QWidget()
            lay = QHBoxLayout(row)
            lay.setContentsMargins(0, 0, 0, 0)
            swatch = QLabel(fixedWidth=18, fixedHeight=12)
            swatch.setStyleSheet(f"background: {colour}; border: 1px solid #777;")
            lay.addWidget(swatch)
            lay.addWidget(QLabel(text))
            self._lay.addWidget(row)
        self.adjustSize()
        self.move(10, self.parentWidget().height() - self.height() - 10)
        self.setVisible(bool(entries))
