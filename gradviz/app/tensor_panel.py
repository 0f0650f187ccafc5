"""One tensor in the inspector: its numbers when small, stats and a histogram when large."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QPushButton, QSizePolicy, QTableWidget,
                               QTableWidgetItem, QVBoxLayout, QWidget)

from gradviz.core.snapshot import Snapshot

from .format import format_lines, format_stat, format_values, number_format
from .histogram import Histogram

#: Up to this many elements a tensor is also written out as one line of nested lists.
TEXT_MAX = 36
#: Up to this many elements a tensor is shown as numbers in a table; above, as stats.
TABLE_MAX = 400
STATS = ("min", "max", "mean", "std", "norm", "nan", "inf", "zeros")


class TensorPanel(QWidget):
    """Title, then either the values (one line of text + a table) or stats + histogram."""

    def __init__(self, title: str, parent=None):
        super().__init__(parent)
        self.title = QLabel(title, objectName="section")
        self.copy = QPushButton("Copy", toolTip="Copy the values to the clipboard")
        self.copy.clicked.connect(self._on_copy)
        head = QHBoxLayout()
        head.addWidget(self.title)
        head.addStretch()
        head.addWidget(self.copy)
        self.text = QLabel(textInteractionFlags=Qt.TextSelectableByMouse)
        self.table = QTableWidget(editTriggers=QTableWidget.NoEditTriggers)
        self.stats = QLabel(textInteractionFlags=Qt.TextSelectableByMouse)
        self.histogram = Histogram()
        self.setSizePolicy(QSizePolicy.Preferred, QSizePolicy.Fixed)  # spare room goes elsewhere
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(head)
        for w in (self.text, self.table, self.stats, self.histogram):
            w.setSizePolicy(QSizePolicy.Preferred, QSizePolicy.Fixed)
            lay.addWidget(w)
        lay.addStretch(1)  # any spare height below the numbers, not between them
        self._clip = ""

    def show_snapshot(self, snap: Snapshot | None, missing: str) -> None:
        """Show ``snap``; ``missing`` says why there is nothing when it is None."""
        small = snap is not None and snap.data is not None and snap.numel <= TABLE_MAX
        values = snap.tolist() if small else None
        if snap is None:
            self.text.setText(missing)
            self._clip = ""
        elif small:
            self._clip = format_values(values)
            self.text.setText(format_lines(values) if snap.numel <= TEXT_MAX
                              else f"{list(snap.shape)} {snap.dtype}")
        elif not snap.has_values:  # meta, fake, nested: a shape without numbers
            self.text.setText(f"{list(snap.shape)} {snap.dtype} on {snap.device}: no values")
        else:
            self.text.setText(f"{list(snap.shape)} {snap.dtype}: too large to list")
        self._fill_table(values if small else None)
        self._fill_stats(snap if snap is not None and not small else None)
        self.copy.setEnabled(snap is not None)

    def _fill_table(self, values) -> None:
        rows = None
        if values is not None:
            if not isinstance(values, list):
                rows = [[values]]
            elif not values or not isinstance(values[0], list):
                rows = [values]
            elif not isinstance(values[0][0] if values[0] else 0, list):
                rows = values
        self.table.setVisible(rows is not None)
        if rows is None:
            return
        spec = number_format(rows)
        self.table.setRowCount(len(rows))
        self.table.setColumnCount(max((len(r) for r in rows), default=0))
        for i, row in enumerate(rows):
            for j, v in enumerate(row):
                text = format(v, spec) if isinstance(v, float) else str(v)
                self.table.setItem(i, j, QTableWidgetItem(text))
        self.table.resizeColumnsToContents()
        height = self.table.horizontalHeader().height() + sum(
            self.table.rowHeight(i) for i in range(min(len(rows), 8))) + 4
        self.table.setFixedHeight(height)

    def _fill_stats(self, snap: Snapshot | None) -> None:
        self.stats.setVisible(snap is not None)
        self.histogram.setVisible(snap is not None)
        if snap is None:
            return
        s = snap.stats
        cells = [f"{k} {format_stat(s[k])}" for k in STATS if k in s]
        self.stats.setText("\n".join("   ".join(cells[i:i + 2]) for i in range(0, len(cells), 2)))
        self.histogram.set_data(*snap.histogram())
        self._clip = "\n".join(f"{k}\t{s[k]}" for k in STATS if k in s)

    def _on_copy(self) -> None:
        QGuiApplication.clipboard().setText(self._clip)
