"""The gallery's grid of cards: one per demo, its picture above its name and teaching point.

A QListWidget in icon mode, so the arrow keys move between cards as in a file manager; the
delegate paints each card, with an empty frame where the picture is until it arrives.
"""

from __future__ import annotations

from PySide6.QtCore import QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QFont, QFontMetrics, QPainter, QPalette, QPen, QPixmap, QTextLayout
from PySide6.QtWidgets import QListView, QListWidget, QStyle, QStyledItemDelegate

from . import thumbnails

#: Item data: Qt.UserRole holds the demo's name, SUMMARY its one-line teaching point.
SUMMARY = Qt.UserRole + 1
#: Four cards side by side beside the inspector in a 1280-pixel window.
CARD = QSize(228, 218)
PAD = 10
SUMMARY_LINES = 3


def _lines(text: str, font: QFont, width: int, most: int) -> list[str]:
    """``text`` wrapped to ``width``: at most ``most`` lines, the last one elided if need be."""
    layout = QTextLayout(text, font)
    layout.beginLayout()
    starts = []
    while len(starts) < most and (line := layout.createLine()).isValid():
        line.setLineWidth(width)
        starts.append(line.textStart())
    layout.endLayout()
    lines = [text[a:b] for a, b in zip(starts, starts[1:])]
    if starts:
        lines.append(QFontMetrics(font).elidedText(text[starts[-1]:], Qt.ElideRight, width))
    return [line.strip() for line in lines]


class CardDelegate(QStyledItemDelegate):
    """Paints one card: picture (or an empty frame until it arrives), name, summary."""

    def sizeHint(self, option, index) -> QSize:
        return CARD

    def paint(self, painter: QPainter, option, index) -> None:
        pal = option.palette
        selected = bool(option.state & QStyle.State_Selected)
        hovered = bool(option.state & QStyle.State_MouseOver)
        card = QRectF(option.rect).adjusted(4, 4, -4, -4)
        painter.save()
        painter.setRenderHint(QPainter.Antialiasing)
        accent = pal.color(QPalette.Highlight)
        painter.setPen(QPen(accent if selected or hovered else pal.color(QPalette.Mid),
                            2.5 if selected else 1))
        painter.setBrush(pal.color(QPalette.Base))
        painter.drawRoundedRect(card, 6, 6)
        inner = card.toRect().adjusted(PAD, PAD, -PAD, -PAD)
        frame = QRect(inner.left(), inner.top(), inner.width(),
                      thumbnails.SIZE.height() / thumbnails.DENSITY)
        picture = index.data(Qt.DecorationRole)
        if isinstance(picture, QPixmap) and not picture.isNull():
            size = picture.deviceIndependentSize().toSize().scaled(frame.size(), Qt.KeepAspectRatio)
            target = QRect(0, 0, size.width(), size.height())
            target.moveCenter(frame.center())
            painter.drawPixmap(target, picture)
        else:
            painter.setPen(Qt.NoPen)
            painter.setBrush(pal.color(QPalette.AlternateBase))
            painter.drawRoundedRect(QRectF(frame), 4, 4)
        title_font = QFont(option.font)
        title_font.setBold(True)
        painter.setPen(pal.color(QPalette.Text))
        painter.setFont(title_font)
        y = frame.bottom() + 8
        line_h = painter.fontMetrics().height()
        painter.drawText(QRect(inner.left(), y, inner.width(), line_h), Qt.AlignLeft,
                         index.data(Qt.UserRole))
        painter.setFont(option.font)
        y += line_h + 2
        line_h = painter.fontMetrics().height()
        for line in _lines(index.data(SUMMARY), option.font, inner.width(), SUMMARY_LINES):
            painter.drawText(QRect(inner.left(), y, inner.width(), line_h), Qt.AlignLeft, line)
            y += line_h
        painter.restore()


class CardList(QListWidget):
    """A grid of cards: the arrow keys move between them, Enter (or a click) chooses one."""

    chosen = Signal(object)  # QListWidgetItem

    def __init__(self, parent=None):
        super().__init__(parent, viewMode=QListView.IconMode, movement=QListView.Static,
                         resizeMode=QListView.Adjust, uniformItemSizes=True, wrapping=True,
                         gridSize=CARD)
        self.setItemDelegate(CardDelegate(self))
        self.viewport().setAttribute(Qt.WA_Hover)  # the card under the mouse is outlined
        self.setSelectionMode(QListWidget.SingleSelection)
        self.itemClicked.connect(self.chosen.emit)

    def keyPressEvent(self, event) -> None:
        if event.key() in (Qt.Key_Return, Qt.Key_Enter) and self.currentItem() is not None:
            self.chosen.emit(self.currentItem())
        else:
            super().keyPressEvent(event)
