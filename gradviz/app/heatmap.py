"""A 2-D tensor too large for a table of numbers: pyqtgraph's image with a colour bar.

Each cell is one element on the shared diverging scale (zero white, symmetric around zero);
the cell under the mouse gives its index and value as a tooltip. The plot neither pans nor
zooms: inside the scrolling inspector, the wheel scrolls the inspector.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QPoint, QRectF
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QSizePolicy, QToolTip

from . import diverging
from .tensor_table import exact, index_text

#: An odd number of colours puts zero exactly on the middle one: white, not almost white.
LUT_SIZE = 255


def colormap() -> pg.ColorMap:
    return pg.ColorMap([p for p, _ in diverging.STOPS], [c for _, c in diverging.STOPS])


class HeatMap(pg.GraphicsLayoutWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.plot = self.addPlot()
        self.plot.setMouseEnabled(False, False)
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.plot.invertY(True)  # row 0 on top, as printed
        self.image = pg.ImageItem(axisOrder="row-major")
        self.plot.addItem(self.image)
        cmap = colormap()
        self.bar = pg.ColorBarItem(colorMap=cmap, interactive=False, width=12)
        self.bar.setImageItem(self.image, insert_in=self.plot)
        self.image.setLookupTable(cmap.getLookupTable(nPts=LUT_SIZE))
        self.nan = pg.ImageItem(axisOrder="row-major")  # NaN cells, drawn over the scale
        self.plot.addItem(self.nan)
        self.values = np.zeros((0, 0))
        self.shape: tuple = ()
        self.setSizePolicy(QSizePolicy.Preferred, QSizePolicy.Fixed)
        self.setFixedHeight(260)

    def set_values(self, values: np.ndarray, shape: tuple) -> None:
        """``values``: rows x columns (leading dimensions flattened); ``shape``: the tensor's."""
        self.values, self.shape = values, tuple(shape)
        lim = diverging.limit(values)
        self.image.setImage(values, levels=(-lim, lim))
        self.bar.setLevels((-lim, lim))
        rows, cols = values.shape
        nan = np.zeros((rows, cols, 4), dtype=np.ubyte)
        nan[np.isnan(values)] = QColor(diverging.NAN).getRgb()
        self.nan.setImage(nan, levels=(0, 255))
        for item in (self.image, self.nan):
            item.setRect(QRectF(-0.5, -0.5, cols, rows))  # cell (i, j) centred on (j, i)
        self.plot.setRange(xRange=(-0.5, cols - 0.5), yRange=(-0.5, rows - 0.5), padding=0)

    def cell_at(self, pos: QPoint) -> tuple[int, int] | None:
        """The (row, column) under the viewport point ``pos``, or None outside the image."""
        point = self.plot.vb.mapSceneToView(self.mapToScene(pos))
        i, j = round(point.y()), round(point.x())
        rows, cols = self.values.shape
        return (i, j) if 0 <= i < rows and 0 <= j < cols else None

    def tooltip_at(self, pos: QPoint) -> str:
        cell = self.cell_at(pos)
        if cell is None:
            return ""
        i, j = cell
        return f"{index_text(self.shape, i * self.values.shape[1] + j)} = {exact(float(self.values[i, j]))}"

    def viewportEvent(self, event) -> bool:
        if event.type() == QEvent.ToolTip:
            text = self.tooltip_at(event.pos())
            if text:
                QToolTip.showText(event.globalPos(), text, self)
            else:
                QToolTip.hideText()
            return True
        return super().viewportEvent(event)

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        if event.type() in (QEvent.StyleChange, QEvent.PaletteChange):
            # pyqtgraph paints its own background: take the theme's from the style sheet
            self.setBackground(self.palette().color(QPalette.Window))

    def wheelEvent(self, event) -> None:
        event.ignore()  # to the scroll area around the inspector
