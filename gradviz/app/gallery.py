"""The demo gallery that ``gradviz`` opens on: a card per demo with a picture of its graph.

Each card shows the demo's name and its one-line teaching point (the first line of its
docstring); the full paragraph is the card's tooltip and, for the selected card, the text
under the grid. A click, or Enter on the card chosen with the arrow keys, opens the demo.
The pictures are shipped files (see :mod:`.thumbnails`) decoded in a worker thread after the
gallery is shown, so the first paint never waits for them.
"""

from __future__ import annotations

from html import escape

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QLabel, QListWidgetItem, QVBoxLayout, QWidget

from gradviz.demos import catalog

from . import thumbnails
from .cards import SUMMARY, CardList
from .workers import Runner


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
