"""The demo gallery: what `gradviz` opens on; each demo with its summary and teaching point."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from gradviz.demos import catalog


class Gallery(QWidget):
    opened = Signal(str)  # demo name

    def __init__(self, parent=None):
        super().__init__(parent)
        self.list = QListWidget(wordWrap=True, spacing=4, alternatingRowColors=True)
        for demo in catalog():
            item = QListWidgetItem(f"{demo.name} — {demo.summary}\n{demo.teaching_point}")
            item.setData(Qt.UserRole, demo.name)
            self.list.addItem(item)
        self.list.itemActivated.connect(lambda item: self.opened.emit(item.data(Qt.UserRole)))
        lay = QVBoxLayout(self)
        lay.addWidget(QLabel("Demos", objectName="heading"))
        lay.addWidget(QLabel("Double-click a demo to run it and open its graph, or use File ▸ Open "
                             "to run a script of your own.", wordWrap=True))
        lay.addWidget(self.list)
