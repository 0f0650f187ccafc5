"""Each tensor shown once: a tinted table when small, a heat map for a matrix, stats when large."""

import pytest
import torch
from PySide6.QtCore import QEvent, QPointF
from PySide6.QtGui import QColor, QHelpEvent
from PySide6.QtWidgets import QApplication, QLabel, QToolTip

import gradviz
from gradviz.app import diverging
from tests.app.conftest import click, draw, out
from tests.core.seed import tensors

COLUMN = torch.arange(-15, 16, dtype=torch.float32) / 15  # column 15 is exactly zero


def matrix_graph(rows: int = 24):
    """loss = sum(tanh(2 W) * COLUMN): dloss/dH is COLUMN in every row, zero in column 15."""
    torch.manual_seed(0)
    W = torch.randn(rows, 31, requires_grad=True)
    with gradviz.record():
        H = torch.tanh(W * 2)
        loss = (H * COLUMN).sum()
    g = gradviz.trace(loss)
    loss.backward()
    return g, W


def grad_of_h(W: torch.Tensor) -> torch.Tensor:
    """The same gradient from torch alone, on a fresh forward pass."""
    h = torch.tanh(W.detach() * 2).requires_grad_()
    return torch.autograd.grad((h * COLUMN).sum(), h)[0]


def pixel(heatmap, i: int, j: int) -> QColor:
    """The colour on screen at the centre of cell (i, j)."""
    at = heatmap.mapFromScene(heatmap.plot.vb.mapViewToScene(QPointF(j, i)))
    return heatmap.grab().toImage().pixelColor(at)


def tooltip(heatmap, i: int, j: int) -> str:
    at = heatmap.mapFromScene(heatmap.plot.vb.mapViewToScene(QPointF(j, i)))
    QToolTip.hideText()
    QApplication.sendEvent(heatmap.viewport(),
                           QHelpEvent(QEvent.ToolTip, at, heatmap.viewport().mapToGlobal(at)))
    return QToolTip.text()


def scroll_to_end(window):
    """Show the gradient's panel, below the value's."""
    QApplication.processEvents()
    bar = window.inspector.widget().verticalScrollBar()
    bar.setValue(bar.maximum())


def test_small_tensor_is_one_tinted_table(qtbot, window, seed_graph):
    draw(qtbot, window, seed_graph)
    click(qtbot, window.view, seed_graph.find("X").id)
    panel = window.inspector.grad
    assert panel.view == "table" and panel.table.isVisible()
    assert not panel.text.isVisible() and not panel.histogram.isVisible()
    assert panel.heatmap is None  # never made for a small tensor: pyqtgraph is not imported
    X, W, B = tensors()
    expected = torch.autograd.grad(torch.nn.functional.linear(X, W.t(), B).sum(), X)[0]
    cells = panel.table.cells()
    assert [float(c) for row in cells for c in row] == pytest.approx(expected.reshape(-1).tolist())
    labels = [w.text() for w in window.inspector.findChildren(QLabel) if w.isVisible()]
    assert not any(c in t for t in labels for c in ("3.6", "-0.9", "1.3"))  # not written twice
    assert "[[3.6, -0.9, 1.3], [3.6, -0.9, 1.3]]" in window.inspector.text()  # readers get it
    tint = [panel.table.item(0, j).background().color() for j in range(3)]
    assert tint[0] == QColor(diverging.STOPS[-1][1])  # the largest magnitude: the scale's end
    assert tint[2].red() > tint[2].blue() and tint[1].blue() > tint[1].red()  # + red, - blue
    assert panel.table.item(1, 1).toolTip() == f"[1, 1] = {expected[1, 1].item():.7g}"
    click(qtbot, window.view, seed_graph.find("Z").id)
    assert window.inspector.grad.table.cells() == [["1", "1"], ["1", "1"]]
    text = window.inspector.text()  # the explanation points at the table, does not repeat it
    assert "captured its gradient during backward (shown above)" in text and "tensor(" not in text
    window.screenshot(out("inspector_table.png"))
    with qtbot.waitSignal(window.layout_applied, timeout=20_000):
        window.change(theme="dark")
    cell = window.inspector.value.table.item(0, 0)  # 2.15 of 2.91: a light red, dark ink
    assert cell.foreground().color() == QColor("black") and cell.background().color().red() > 200
    window.screenshot(out("inspector_table_dark.png"))


def test_scalars_vectors_and_higher_ranks_are_tables(qtbot):
    from gradviz.app.tensor_panel import TensorPanel
    from gradviz.core.snapshot import Snapshot

    panel = TensorPanel("Gradient")
    qtbot.addWidget(panel)
    cases = {(): (1, 1), (5,): (1, 5), (20,): (20, 1), (2, 3, 4): (6, 4)}
    for shape, (rows, cols) in cases.items():
        t = torch.arange(1, torch.Size(shape).numel() + 1, dtype=torch.float32).reshape(shape)
        panel.show_snapshot(Snapshot.of(t, cap=10_000), "none")
        assert panel.view == "table", shape
        assert (panel.table.rowCount(), panel.table.columnCount()) == (rows, cols), shape
        assert [int(c) for row in panel.table.cells() for c in row] == t.reshape(-1).tolist()
    labels = [panel.table.verticalHeaderItem(i).text() for i in range(6)]
    assert labels == ["0, 0", "0, 1", "0, 2", "1, 0", "1, 1", "1, 2"]  # torch's leading index
    assert panel.table.item(4, 3).toolTip() == "[1, 1, 3] = 20"
    panel.show_snapshot(Snapshot.of(torch.tensor([1 + 2j, 3 - 4j]), cap=10_000), "none")
    assert panel.table.cells() == [["1", "2"], ["3", "-4"]]  # real, imaginary
    assert panel.table.item(1, 1).toolTip() == "[1, 1] = -4"
    panel.show_snapshot(Snapshot.of(torch.ones(1000), cap=10_000), "none")
    assert panel.view == "stats" and panel.heatmap is None  # a long vector: never a heat map


def test_matrix_heat_map_zero_white_values_on_hover(qtbot, window):
    g, W = matrix_graph()
    expected = grad_of_h(W)
    draw(qtbot, window, g)
    click(qtbot, window.view, g.find("H").id)
    panel = window.inspector.grad
    assert panel.view == "heatmap" and panel.heatmap.isVisible()
    assert not panel.table.isVisible() and not panel.histogram.isVisible()
    assert not panel.text.isVisible()
    assert "norm" in panel.stats.text() and "tensor(" not in window.inspector.text()
    heat = panel.heatmap
    lim = expected.abs().max().item()
    assert heat.bar.levels() == pytest.approx((-lim, lim))  # symmetric around zero
    assert pixel(heat, 3, 15) == QColor("white")  # exactly zero: white
    assert pixel(heat, 3, 30) == QColor(diverging.STOPS[-1][1])  # +max: the red end
    assert pixel(heat, 3, 0) == QColor(diverging.STOPS[0][1])  # -max: the blue end
    for i, j in ((0, 0), (5, 22), (23, 30)):
        assert tooltip(heat, i, j) == f"[{i}, {j}] = {expected[i, j].item():.7g}"
    assert heat.backgroundBrush().color().lightness() > 200  # the light theme's, around it
    scroll_to_end(window)
    window.screenshot(out("inspector_heatmap.png"))
    with qtbot.waitSignal(window.layout_applied, timeout=20_000):
        window.change(theme="dark")
    scroll_to_end(window)
    assert pixel(heat, 3, 15) == QColor("white")  # the scale does not follow the theme
    assert heat.backgroundBrush().color().lightness() < 60  # but the space around it does
    window.screenshot(out("inspector_heatmap_dark.png"))


def test_nan_is_grey_not_white(qtbot):
    from gradviz.app.tensor_panel import TensorPanel
    from gradviz.core.snapshot import Snapshot

    panel = TensorPanel("Gradient")
    qtbot.addWidget(panel)
    t = torch.linspace(-1, 1, 100).reshape(10, 10)
    t[2, 3], t[4, 4] = float("nan"), 0.0
    panel.show_snapshot(Snapshot.of(t, cap=10_000), "none")
    panel.resize(400, 300)
    panel.show()
    qtbot.waitExposed(panel)
    heat = panel.heatmap
    assert pixel(heat, 2, 3) == QColor(diverging.NAN) and pixel(heat, 4, 4) == QColor("white")
    assert tooltip(heat, 2, 3) == "[2, 3] = nan"
    small = torch.tensor([[float("nan"), 0.0]])
    panel.show_snapshot(Snapshot.of(small, cap=10_000), "none")
    assert panel.table.item(0, 0).background().color() == QColor(diverging.NAN)
    assert panel.table.item(0, 1).background().color() == QColor("white")


def test_too_many_rows_for_a_heat_map_keep_stats(qtbot):
    from gradviz.app.tensor_panel import HEATMAP_ROWS, TensorPanel
    from gradviz.core.snapshot import Snapshot

    panel = TensorPanel("Gradient")
    qtbot.addWidget(panel)
    panel.show_snapshot(Snapshot.of(torch.randn(HEATMAP_ROWS + 1, 4), cap=10_000), "none")
    assert panel.view == "stats"
    panel.show_snapshot(Snapshot.of(torch.randn(HEATMAP_ROWS, 4), cap=10_000), "none")
    assert panel.view == "heatmap"


def test_zero_is_white_and_the_scale_is_symmetric():
    assert diverging.color(0.0, 3.0) == QColor("white")
    assert diverging.color(3.0, 3.0) == QColor(diverging.STOPS[-1][1])
    assert diverging.color(-3.0, 3.0) == QColor(diverging.STOPS[0][1])
    assert diverging.color(-1e9, 3.0) == QColor(diverging.STOPS[0][1])  # clipped, and -inf too
    assert diverging.color(float("nan"), 1.0) == QColor(diverging.NAN)  # never white
    assert diverging.ink(QColor("white")) == QColor("black")
    assert diverging.ink(QColor(diverging.STOPS[0][1])) == QColor("white")
