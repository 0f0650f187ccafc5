"""The timeline dock: a training run's passes over time, drawn with pyqtgraph.

Left: the loss (the traced output's value). Right: the global gradient norm (all leaf
gradients of the pass together) and the selected node's gradient norm; the two share x. One point per traced
pass, at its backward call's number; passes whose gradients held NaN or Inf are shaded red; a
dashed line marks the pass shown. A click picks the nearest pass (``picked(index)``).
"""

from __future__ import annotations

import html

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QCheckBox, QDockWidget, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from gradviz.core.history import NodeHistory, PassHistory

LOSS, GLOBAL, NODE = "#1f77b4", "#ff7f0e", "#2ca02c"
NAN_BRUSH = (214, 39, 40, 70)
#: Above this many passes the points are drawn as a line only.
SYMBOLS_UP_TO = 200


def _swatch(colour: str) -> str:
    return f'<span style="color:{colour}">&#9473;&#9473;</span>'


def _spans(passes: np.ndarray, flags: np.ndarray) -> list[tuple[float, float]]:
    """Runs of flagged passes as (start, end) x-ranges, half a step wide on each side."""
    spans, start = [], None
    step = float(np.median(np.diff(passes))) if len(passes) > 1 else 1.0
    for i, bad in enumerate(flags):
        if bad and start is None:
            start = i
        if start is not None and (not bad or i == len(flags) - 1):
            end = i if bad else i - 1
            spans.append((passes[start] - step / 2, passes[end] + step / 2))
            start = None
    return spans


class Timeline(QDockWidget):
    picked = Signal(int)  # the backward call number of the pass clicked

    def __init__(self, parent=None):
        super().__init__("Timeline", parent)
        self.setObjectName("timeline")
        self.log = QCheckBox("log scale", checked=True)
        self.log.toggled.connect(self._on_log)
        self.note = QLabel()
        self.key = QLabel(textFormat=Qt.RichText)  # the curves' colours, in place of a legend
        self.plots = pg.GraphicsLayoutWidget()
        self.plots.setBackground("w")
        self.plots.setMinimumSize(560, 180)
        self.loss_plot = self.plots.addPlot(row=0, col=0)
        self.norm_plot = self.plots.addPlot(row=0, col=1)
        self.norm_plot.setXLink(self.loss_plot)
        self.loss_plot.setLabel("left", "loss")
        self.norm_plot.setLabel("left", "gradient norm")
        for plot in (self.loss_plot, self.norm_plot):
            plot.setLabel("bottom", "backward pass")
            plot.setMenuEnabled(False)
            plot.showGrid(x=True, y=True, alpha=0.2)
            plot.getAxis("left").enableAutoSIPrefix(False)  # 1e30 stays 1e30, no "x1e+27"
        self.curves = {
            "loss": self.loss_plot.plot(pen=pg.mkPen(LOSS, width=2)),
            "global": self.norm_plot.plot(pen=pg.mkPen(GLOBAL, width=2)),
            "node": self.norm_plot.plot(pen=pg.mkPen(NODE, width=2)),
        }
        self.node_label = ""
        self.shown = [pg.InfiniteLine(angle=90, pen=pg.mkPen("#555", style=Qt.DashLine))
                      for _ in range(2)]
        for plot, line in zip((self.loss_plot, self.norm_plot), self.shown):
            plot.addItem(line, ignoreBounds=True)
            line.hide()
        self._nan_items: list = []
        self.figures: PassHistory | None = None
        self._node: tuple[str, NodeHistory] | None = None
        self._shown: int | None = None
        self.plots.scene().sigMouseClicked.connect(self._on_click)

        body = QWidget()
        lay = QVBoxLayout(body)
        lay.setContentsMargins(4, 2, 4, 2)
        top = QHBoxLayout()
        top.addWidget(self.log)
        top.addWidget(self.note, 1)
        top.addWidget(self.key)
        lay.addLayout(top)
        lay.addWidget(self.plots)
        self.setWidget(body)

    def clear(self) -> None:
        self.figures = None
        for curve in self.curves.values():
            curve.setData([], [])
        self._set_nan_spans([])
        for line in self.shown:
            line.hide()
        self.note.clear()

    def set_data(self, figures: PassHistory, node: tuple[str, NodeHistory] | None = None,
                 shown: int | None = None) -> None:
        """Plot ``figures``; ``node``: the selected node's (label, history); ``shown``: the
        backward call number of the pass the window shows."""
        self.figures, self._node = figures, node
        log = self.log.isChecked()
        x = figures.passes.astype(np.float64)
        symbols = {"symbol": "o", "symbolSize": 5} if len(x) <= SYMBOLS_UP_TO else {"symbol": None}
        loss_log = log and bool(np.all(figures.loss[np.isfinite(figures.loss)] > 0))
        self.loss_plot.setLogMode(False, loss_log)
        self.norm_plot.setLogMode(False, log)
        self._plot("loss", x, figures.loss, loss_log, symbols)
        self._plot("global", x, figures.global_norm, log, symbols)
        if node is None:
            self._plot("node", x[:0], x[:0], log, symbols)
            self.node_label = "select a node for its norm"
        else:
            label, hist = node
            norm = np.where((hist.nan > 0) | (hist.inf > 0), np.nan, hist.grad_norm)
            self._plot("node", hist.passes.astype(np.float64), norm, log, symbols)
            self.node_label = f"{label} gradient norm"
        self.key.setText(f"{_swatch(LOSS)} loss &nbsp; {_swatch(GLOBAL)} global gradient norm "
                         f"&nbsp; {_swatch(NODE)} {html.escape(self.node_label)}")
        self._set_nan_spans(_spans(figures.passes, figures.nonfinite))
        if len(x):  # the shaded passes too, which have no finite point
            half = (x[-1] - x[0]) / max(len(x) - 1, 1) / 2 or 0.5
            self.loss_plot.setXRange(x[0] - half, x[-1] + half, padding=0.02)
        bad = int(figures.nonfinite.sum())
        self.note.setText(f"{len(x)} traced passes" + (f", {bad} with NaN/Inf gradients (red)"
                                                        if bad else "")
                          + ("" if loss_log or not log else "; loss not all positive: linear"))
        self.set_shown(shown)

    def _plot(self, name, x, y, log, symbols) -> None:
        """A gap where a value is missing (NaN, or not positive on a log scale)."""
        y = np.asarray(y, dtype=np.float64)
        if log:
            y = np.where(y > 0, y, np.nan)
        curve = self.curves[name]
        curve.setData(x, y, connect="finite", symbolBrush=curve.opts["pen"].color(),
                      symbolPen=None, **symbols)

    def _set_nan_spans(self, spans) -> None:
        for plot, item in self._nan_items:
            plot.removeItem(item)
        self._nan_items = []
        for start, end in spans:
            for plot in (self.loss_plot, self.norm_plot):
                region = pg.LinearRegionItem((start, end), movable=False, brush=NAN_BRUSH,
                                             pen=pg.mkPen(None))
                plot.addItem(region, ignoreBounds=True)
                self._nan_items.append((plot, region))

    def set_shown(self, index: int | None) -> None:
        self._shown = index
        for line in self.shown:
            line.setVisible(index is not None)
            if index is not None:
                line.setPos(index)

    def series(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """The points each curve draws now: name -> (backward call numbers, values)."""
        out = {}
        for name, c in self.curves.items():
            x, y = (np.asarray(a if a is not None else [], dtype=np.float64)
                    for a in (c.xData, c.yData))
            out[name] = (x[np.isfinite(y)], y[np.isfinite(y)])
        return out

    def nan_spans(self) -> list[tuple[float, float]]:
        return [item.getRegion() for plot, item in self._nan_items if plot is self.norm_plot]

    def _on_log(self) -> None:
        if self.figures is not None:
            self.set_data(self.figures, self._node, self._shown)

    def _on_click(self, event) -> None:
        if self.figures is None or not len(self.figures.passes):
            return
        for plot in (self.loss_plot, self.norm_plot):
            if plot.vb.sceneBoundingRect().contains(event.scenePos()):
                x = plot.vb.mapSceneToView(event.scenePos()).x()
                nearest = int(np.argmin(np.abs(self.figures.passes - x)))
                self.picked.emit(int(self.figures.passes[nearest]))
                return
