"""The demo gallery that ``gradviz`` opens on: a card per demo with a picture of its graph.

Each card shows the demo's name and its one-line teaching point (the first line of its
docstring); the full paragraph is the card's tooltip and, for the selected card, the text
under the grid. A click, or Enter on the card chosen with the arrow keys, opens the demo.
The pictures are shipped files (see :mod:`.thumbnails`) decoded in a worker thread after the
gallery is shown, so the first paint never waits for them.
"""

from __future__ import annotations

from html import escape

from PySide6.QtCore import QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QFont, QFontMetrics, QPainter, QPalette, QPen, QPixmap, QTextLayout
from PySide6.QtWidgets import (QLabel, QListView, QListWidget, QListWidgetItem, QStyle,
                               QStyledItemDelegate, QVBoxLayout, QWidget)

from gradviz.demos import catalog

from . import thumbnails
from .workers import Runner

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
                         gridSize=CARD, mouseTracking=True)
        self.setItemDelegate(CardDelegate(self))
        self.setSelectionMode(QListWidget.SingleSelection)
        self.itemClicked.connect(self.chosen.emit)

    def keyPressEvent(self, event) -> None:
        if event.key() in (Qt.Key_Return, Qt.Key_Enter) and self.currentItem() is not None:
            self.chosen.emit(self.currentItem())
        else:
            super().keyPressEvent(event)


class Gallery(QWidget):
    opened = Signal(str)  # demo name

    def __init__(self, theme: str = "light", parent=None):
        super().__init__(parent)
        self.theme = theme
        self.demos = {demo.name: demo for demo in catalog()}
        self.list = CardList()
        for demo in self.demos.values():
            item = QListWidgetItem(f"{demo.name} — {demo.summary}")  # what a screen reader says
            item.setData(Qt.UserRole, demo.name)
            item.setData(SUMMARY, demo.summary)
            item.setToolTip(self._paragraph(demo.name))
            self.list.addItem(item)
        self.list.chosen.connect(lambda item: self.opened.emit(item.data(Qt.UserRole)))
        self.details = QLabel(wordWrap=True, textFormat=Qt.RichText, objectName="details")
        self.details.setMinimumHeight(5 * self.fontMetrics().height())
        self.details.setAlignment(Qt.AlignLeft | Qt.AlignTop)
        self.list.currentItemChanged.connect(self._on_current)
        self.runner = Runner(self)
        self._shown_theme = None  # the theme whose pictures are on the cards (or coming)
        lay = QVBoxLayout(self)
        lay.addWidget(QLabel("Demos", objectName="heading"))
        lay.addWidget(QLabel("Click a demo, or choose one with the arrow keys and press Enter, "
                             "to run it and open its graph. File ▸ Open runs a script of your "
                             "own.", wordWrap=True))
        lay.addWidget(self.list, 1)
        lay.addWidget(self.details)
        self.list.setCurrentRow(0)

    def _paragraph(self, name: str) -> str:
        demo = self.demos[name]
        return (f"<p><b>{escape(name)}</b>: {escape(demo.summary)}</p>"
                f"<p>{escape(demo.teaching_point)}</p>")

    def set_theme(self, name: str) -> None:
        self.theme = name
        if self.isVisible():
            self._load_pictures()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._shown_theme != self.theme:
            self._load_pictures()

    def _load_pictures(self) -> None:
        self._shown_theme = self.theme
        names = [self.list.item(i).data(Qt.UserRole) for i in range(self.list.count())]
        self.runner.submit("thumbnails", "Loading pictures…", thumbnails.load_job(self.theme, names),
                           self._on_pictures)

    def _on_pictures(self, images: dict) -> None:
        for i in range(self.list.count()):
            item = self.list.item(i)
            image = images.get(item.data(Qt.UserRole))
            item.setData(Qt.DecorationRole,
                         QPixmap.fromImage(image) if image is not None and not image.isNull() else None)

    def _on_current(self, item, _previous=None) -> None:
        self.details.setText("" if item is None else self._paragraph(item.data(Qt.UserRole)) +
                             "<p><i>Press Enter or click to open it.</i></p>")
