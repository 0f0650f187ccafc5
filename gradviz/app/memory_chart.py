"""The backward player's memory chart: what autograd still holds for backward after each step.

A node's saved tensors go once it has run (unless ``retain_graph``), so stepping through
backward the curve falls; the current step is marked. The data is
:class:`~gradviz.core.memory.HeldCurve` (from ``g.memory_timeline()``), which the
``--steps backward`` pages draw too. A dock under the graph, shown while the player steps
backward; presenter mode keeps it on screen, in large type. The curve is worked out by the
window's Runner (0.1-0.2 s at 20,000 nodes), never on the GUI thread.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QDockWidget, QLabel, QVBoxLayout, QWidget

from gradviz.core.budget import format_bytes
from gradviz.core.graph import GradGraph
from gradviz.core.memory import HeldCurve
from gradviz.layout.style import theme as get_theme

from . import jobs
from .window_api import Window

UNITS = (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10))
HELD, ACTIVATION, MARK = "#bd0026", "#fc4e2a", "#e8590c"
#: Point sizes of the axis text and caption, normally and in presenter mode.
TEXT_PT = {False: 9, True: 18}
HEIGHT_SHARE = {False: 0.28, True: 0.34}


def unit_of(n: int) -> tuple[str, int]:
    """The binary unit the chart's axis counts in for a largest value ``n``."""
    return next(((name, size) for name, size in UNITS if n >= size), ("bytes", 1))


class MemoryChart(QDockWidget):
    def __init__(self, window: Window):
        super().__init__("Memory held for backward", window, objectName="memory_chart")
        self.setProperty("presenter", True)  # presenter mode keeps it on screen
        self.window_ = window
        self.graph: GradGraph | None = None
        self.curve: HeldCurve | None = None
        self.step: int | None = None  # the player's, shown once the curve is in
        self._task = None  # the job working out the curve
        self._theme = None  # the theme its colours are set for
        self.scale = 1
        self.plot = pg.PlotWidget()
        item = self.plot.getPlotItem()
        item.setMouseEnabled(False, False)
        item.setMenuEnabled(False)
        item.hideButtons()
        item.showGrid(y=True, alpha=0.25)
        self.legend = item.addLegend(offset=(-10, 10))
        self.held = item.plot(stepMode="center", fillLevel=0, pen=pg.mkPen(HELD, width=2),
                              brush=pg.mkBrush(HELD + "40"), name="activations and parameters")
        self.activation = item.plot(stepMode="center", name="activations",
                                    pen=pg.mkPen(ACTIVATION, width=1.5, style=Qt.DashLine))
        self.marker = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen(MARK, width=2))
        self.dot = pg.ScatterPlotItem(size=11, brush=pg.mkBrush(MARK), pen=pg.mkPen(MARK))
        item.addItem(self.marker)
        item.addItem(self.dot)
        self.caption = QLabel(objectName="memory_caption", wordWrap=True)
        body = QWidget()
        lay = QVBoxLayout(body)
        lay.setContentsMargins(6, 2, 6, 4)
        lay.addWidget(self.caption)
        lay.addWidget(self.plot, 1)
        self.setWidget(body)
        window.addDockWidget(Qt.BottomDockWidgetArea, self)
        self.hide()
        self.large = False
        self.set_large(False)

    # -- data -------------------------------------------------------------------------
    def set_graph(self, graph: GradGraph | None) -> None:
        """A new graph: its curve is worked out when its backward is first stepped."""
        self.graph, self.curve, self._task = graph, None, None
        self.hide()

    def _ask_for_curve(self) -> None:
        """Start the job, unless it runs already (or was cancelled: then again)."""
        if self._task is None or self._task.stop.is_set():
            graph = self.graph
            self._task = self.window_.runner.submit(
                "memory", "Working out the memory held for backward…",
                jobs.held_curve_job(graph), lambda curve: self._on_curve(graph, curve))

    def _on_curve(self, graph: GradGraph, curve: HeldCurve | None) -> None:
        if graph is not self.graph:
            return
        self.curve = curve
        if curve is None:  # not measured, or no backward: nothing to draw
            return
        self._plot()
        self.show_step(self.step)

    def _plot(self) -> None:
        unit, self.scale = unit_of(max(self.curve.held))
        edges = [k - 0.5 for k in range(len(self.curve.held) + 1)]
        self.held.setData(edges, [n / self.scale for n in self.curve.held])
        self.activation.setData(edges, [n / self.scale for n in self.curve.activation])
        item = self.plot.getPlotItem()
        item.setLabel("left", f"held ({unit})")
        item.setLabel("bottom", "backward step (0: before backward)")
        item.setXRange(-0.5, len(self.curve.held) - 0.5, padding=0.01)
        item.setYRange(0, max(self.curve.held) / self.scale, padding=0.05)

    # -- the player's step -----------------------------------------------------------
    def show_step(self, step: int | None) -> None:
        """Mark the point after backward ``step`` (counted from 0) ran; None hides the chart.
        Before the curve is in, the step waits for it."""
        self.step = step
        if step is None or self.graph is None:
            self.hide()
            return
        if self.curve is None:
            self._ask_for_curve()
            return
        at = HeldCurve.after(step)
        held, first = self.curve.held[at], self.curve.held[0]
        self.marker.setPos(at)
        self.dot.setData([at], [held / self.scale])
        self.caption.setText(
            f"After step {at} of {len(self.curve.held) - 1}: {format_bytes(held)} of "
            f"{format_bytes(first)} still held for backward "
            f"({format_bytes(self.curve.activation[at])} activations)")
        self._set_theme()
        if not self.isVisible():
            self.show()
            self._fit()

    @property
    def marked(self) -> int | None:
        """The backward point the marker stands on (None while hidden)."""
        return round(self.marker.value()) if self.isVisible() else None

    # -- looks ------------------------------------------------------------------------
    def _set_theme(self) -> None:
        if self._theme == self.window_.model.theme:
            return
        self._theme = self.window_.model.theme
        th = get_theme(self._theme)
        self.plot.setBackground(th.background)
        for side in ("left", "bottom"):
            axis = self.plot.getPlotItem().getAxis(side)
            axis.setPen(th.ink)
            axis.setTextPen(th.ink)
        for _, label in self.legend.items:  # setLabelTextColor would not redraw them
            label.setText(label.text, color=th.ink)

    def set_large(self, on: bool) -> None:
        """Large type for presenter mode, readable from the back of a lecture hall."""
        font = QFont()
        font.setPointSize(TEXT_PT[on])
        self.caption.setFont(font)
        item = self.plot.getPlotItem()
        for side in ("left", "bottom"):
            item.getAxis(side).setStyle(tickFont=font)
            item.getAxis(side).label.setFont(font)
        self.large = on
        self._fit()

    def _fit(self) -> None:
        """A share of the window's height: the graph keeps most of it."""
        share = HEIGHT_SHARE[self.large]
        self.window_.resizeDocks([self], [int(self.window_.height() * share)], Qt.Vertical)
