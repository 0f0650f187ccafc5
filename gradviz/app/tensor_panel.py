"""One tensor in the inspector, shown once: a tinted table when small, a heat map when a
matrix of up to a few hundred rows, stats and a histogram when larger or summarised."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSizePolicy, QVBoxLayout, QWidget

from gradviz.core.snapshot import Snapshot

from .format import format_stat, format_values
from .histogram import Histogram
from .tensor_table import TensorTable

#: Scalars and vectors: up to this many elements a table; above, stats and a histogram.
VECTOR_MAX = 400
#: A vector up to this long is one row; a longer one a column, which scrolls.
ROW_MAX = 8
#: Matrices (leading dimensions flattened into rows): up to this many elements a table of
#: numbers, above it a heat map of at most HEATMAP_ROWS rows and HEATMAP_CELLS elements (the
#: inspector has about 300 pixels a side for it: more cells would blur into each other);
#: anything larger, stats and a histogram.
TABLE_CELLS = 64
HEATMAP_ROWS = 256
HEATMAP_CELLS = 65536
STATS = ("min", "max", "mean", "std", "norm", "nan", "inf", "zeros")


def view_of(snap: Snapshot | None) -> str:
    """How ``snap`` is shown: "missing", "table", "heatmap" or "stats"."""
    if snap is None:
        return "missing"
    if snap.data is None:
        return "stats"
    if len(snap.shape) <= 1:
        return "table" if snap.numel <= VECTOR_MAX else "stats"
    if snap.numel <= TABLE_CELLS:
        return "table"
    rows = snap.numel // snap.shape[-1]
    return "heatmap" if rows <= HEATMAP_ROWS and snap.numel <= HEATMAP_CELLS else "stats"


def as_matrix(values) -> tuple[np.ndarray, list[str], tuple]:
    """Nested lists as rows and columns, with a label per row (its leading index), and their
    shape (a complex tensor's has a last dimension of 2: real, imaginary)."""
    arr = np.array(values, dtype=object)
    if arr.ndim == 0:
        return arr.reshape(1, 1), [""], ()
    if arr.ndim == 1:
        n = arr.shape[0]
        return ((arr.reshape(1, n), [""], arr.shape) if n <= ROW_MAX else
                (arr.reshape(n, 1), [str(i) for i in range(n)], arr.shape))
    rows = [", ".join(map(str, index)) for index in np.ndindex(arr.shape[:-1])]
    return arr.reshape(len(rows), arr.shape[-1]), rows, arr.shape


class TensorPanel(QWidget):
    """Title and Copy, then one view of the values (see :func:`view_of`)."""

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
        self.table = TensorTable()
        self.heatmap = None  # made on first use: pyqtgraph takes a third of a second to import
        self.stats = QLabel(textInteractionFlags=Qt.TextSelectableByMouse)
        self.histogram = Histogram()
        self.setSizePolicy(QSizePolicy.Preferred, QSizePolicy.Fixed)  # spare room goes elsewhere
        self._lay = QVBoxLayout(self)
        self._lay.setContentsMargins(0, 0, 0, 0)
        self._lay.addLayout(head)
        for w in (self.text, self.table, self.stats, self.histogram):
            w.setSizePolicy(QSizePolicy.Preferred, QSizePolicy.Fixed)
            self._lay.addWidget(w)
        self._lay.addStretch(1)  # any spare height below the numbers, not between them
        self.view = "missing"
        self._clip = ""

    def show_snapshot(self, snap: Snapshot | None, missing: str) -> None:
        """Show ``snap``; ``missing`` says why there is nothing when it is None."""
        self.view = view_of(snap)
        values = snap.tolist() if self.view in ("table", "heatmap") else None
        if values is not None:
            matrix, labels, shape = as_matrix(values)
            self._clip = format_values(values)
        if self.view == "table":
            self.table.set_values(matrix.tolist(), shape, labels)
        elif self.view == "heatmap":
            self._heatmap().set_values(matrix.astype(float), shape)
        if snap is None:
            self.text.setText(missing)
        elif not snap.has_values:  # meta, fake, nested: a shape without numbers
            self.text.setText(f"{list(snap.shape)} {snap.dtype} on {snap.device}: no values")
        else:  # whole but long, or (past the budget, or a large recorded value) a summary
            kept = "too large to list" if snap.data is not None else "kept as a summary"
            self.text.setText(f"{list(snap.shape)} {snap.dtype}: {kept}")
        self.text.setVisible(self.view in ("missing", "stats"))
        self.table.setVisible(self.view == "table")
        if self.heatmap is not None:
            self.heatmap.setVisible(self.view == "heatmap")
        self._fill_stats(snap if self.view in ("heatmap", "stats") else None)
        self.histogram.setVisible(self.view == "stats")
        if self.view == "missing":
            self._clip = ""
        self.copy.setEnabled(snap is not None)

    def values_text(self) -> str:
        """The values shown, as one line of nested lists ("" when stats or nothing are)."""
        return self._clip if self.view in ("table", "heatmap") else ""

    def _heatmap(self):
        if self.heatmap is None:
            from .heatmap import HeatMap  # lazy: pyqtgraph loads on the first heat map

            self.heatmap = HeatMap()
            self._lay.insertWidget(self._lay.indexOf(self.table) + 1, self.heatmap)
        return self.heatmap

    def _fill_stats(self, snap: Snapshot | None) -> None:
        self.stats.setVisible(snap is not None)
        if snap is None:
            return
        s = snap.stats
        cells = [f"{k} {format_stat(s[k])}" for k in STATS if k in s]
        self.stats.setText("\n".join("   ".join(cells[i:i + 2]) for i in range(0, len(cells), 2)))
        if self.view == "stats":
            self.histogram.set_data(*snap.histogram())
            self._clip = "\n".join(f"{k}\t{s[k]}" for k in STATS if k in s)

    def _on_copy(self) -> None:
        QGuiApplication.clipboard().setText(self._clip)
