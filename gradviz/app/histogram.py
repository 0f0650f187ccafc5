"""A small bar chart of a tensor's values: what a large tensor shows instead of its numbers."""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import QSizePolicy, QWidget

from .format import format_stat


class Histogram(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.counts: list[int] = []
        self.edges: list[float] = []
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Fixed)

    def set_data(self, counts: list[int], edges: list[float]) -> None:
        self.counts, self.edges = counts, edges
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(240, 90)

    def paintEvent(self, event) -> None:
        if not self.counts:
            return
        p = QPainter(self)
        text_h = self.fontMetrics().height()
        area = QRectF(self.rect()).adjusted(2, 2, -2, -text_h - 2)
        top = max(self.counts) or 1
        w = area.width() / len(self.counts)
        bar = self.palette().highlight().color()
        for i, c in enumerate(self.counts):
            h = area.height() * c / top
            p.fillRect(QRectF(area.left() + i * w, area.bottom() - h, max(w - 1, 1), h), bar)
        p.setPen(self.palette().text().color())
        labels = QRectF(area.left(), area.bottom() + 1, area.width(), text_h)
        p.drawText(labels, Qt.AlignLeft, format_stat(self.edges[0]))
        p.drawText(labels, Qt.AlignRight, format_stat(self.edges[-1]))
        p.setPen(QColor(128, 128, 128))
        p.drawLine(area.bottomLeft(), area.bottomRight())
