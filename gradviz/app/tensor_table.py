"""A small tensor as numbers in a table, each cell tinted by the diverging scale.

The table is the heat map of a small tensor: the numbers stay readable and the colours show
the sign and size at a glance. Leading dimensions are flattened into rows; the headers give
torch's (0-based) indices and a cell's tooltip its full index and value.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtWidgets import QTableWidget, QTableWidgetItem

from . import diverging
from .format import number_format

#: Visible rows at most; a taller tensor scrolls inside the table.
VISIBLE_ROWS = 8


def index_text(shape: tuple, flat: int) -> str:
    """``[1, 0]``: torch's index of element ``flat`` of a tensor of ``shape``."""
    return "[" + ", ".join(str(int(i)) for i in np.unravel_index(flat, shape)) + "]" if shape \
        else "[]"


def exact(v) -> str:
    """A value as a tooltip gives it: all the digits a float32 holds."""
    return f"{v:.7g}" if isinstance(v, float) else str(v)


class TensorTable(QTableWidget):
    def __init__(self, parent=None):
        super().__init__(parent, editTriggers=QTableWidget.NoEditTriggers)

    def set_values(self, matrix: list[list], shape: tuple, row_labels: list[str]) -> None:
        """``matrix``: rows of Python numbers; ``shape``: the tensor's, for the tooltips."""
        numbers = np.array([[float(v) for v in row] for row in matrix], dtype=float).reshape(
            len(matrix), -1) if matrix and matrix[0] else np.zeros((len(matrix), 0))
        lim = diverging.limit(numbers)
        spec = number_format(matrix)
        cols = max((len(r) for r in matrix), default=0)
        self.clear()
        self.setRowCount(len(matrix))
        self.setColumnCount(cols)
        self.setHorizontalHeaderLabels([str(j) for j in range(cols)])
        self.setVerticalHeaderLabels(row_labels)
        scalar = not shape
        self.horizontalHeader().setVisible(not scalar)
        self.verticalHeader().setVisible(not scalar)
        for i, row in enumerate(matrix):
            for j, v in enumerate(row):
                finite = isinstance(v, float) and math.isfinite(v)
                item = QTableWidgetItem(format(v, spec) if finite else str(v))
                item.setToolTip(f"{index_text(shape, i * cols + j)} = {exact(v)}")
                if not isinstance(v, bool):
                    tint = diverging.color(float(v), lim)
                    item.setBackground(tint)
                    item.setForeground(diverging.ink(tint))
                self.setItem(i, j, item)
        self.resizeColumnsToContents()
        header = self.horizontalHeader().height() if not scalar else 0
        self.setFixedHeight(header + 4 + sum(self.rowHeight(i)
                                             for i in range(min(len(matrix), VISIBLE_ROWS))))

    def cells(self) -> list[list[str]]:
        """The text of every cell, row by row (what a reader sees)."""
        return [[self.item(i, j).text() for j in range(self.columnCount())]
                for i in range(self.rowCount())]
