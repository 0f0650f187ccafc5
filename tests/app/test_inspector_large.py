"""Large tensors show stats and a histogram; values copy to the clipboard; hover tooltips; dark theme."""

import torch
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QColor, QGuiApplication, QHelpEvent
from PySide6.QtWidgets import QApplication, QToolTip

import gradviz
from tests.app.conftest import click, draw, out


def test_large_tensor_shows_stats_and_histogram(qtbot, window):
    torch.manual_seed(0)
    big = torch.randn(300, 400, requires_grad=True)  # 120,000 elements: above the table limit
    with gradviz.record():
        act = torch.tanh(big * 2)
        loss = act.pow(2).mean()
    g = gradviz.trace(loss)
    loss.backward()
    draw(qtbot, window, g)
    click(qtbot, window.view, g.node_for(act).id)
    panel = window.inspector.grad
    assert panel.histogram.isVisible() and not panel.table.isVisible()
    assert sum(panel.histogram.counts) >= 100 and len(panel.histogram.edges) == len(panel.histogram.counts) + 1
    assert "norm" in panel.stats.text() and "mean" in panel.stats.text()
    assert "[300, 400] float32" in panel.text.text()
    window.screenshot(out("inspector_large_tensor.png"))


def test_a_meta_tensor_shows_its_shape_and_no_values(qtbot, window):
    W = torch.randn(300, 2, device="meta", requires_grad=True)
    with gradviz.record():
        Z = torch.randn(40, 300, device="meta") @ W
        S = Z.relu().sum()
    g = gradviz.trace(S)
    S.backward()
    draw(qtbot, window, g)
    click(qtbot, window.view, g.find("Z").id)
    for panel in (window.inspector.value, window.inspector.grad):
        assert panel.text.text() == "[40, 2] float32 on meta: no values"
        assert panel.stats.text() == "" and not panel.histogram.counts
    assert "[40, 2] float32 on meta, a tensor without data to read" in window.inspector.text()
    window.screenshot(out("inspector_meta_tensor.png"))


def test_copy_values_to_clipboard(qtbot, window, seed_graph):
    draw(qtbot, window, seed_graph)
    click(qtbot, window.view, seed_graph.find("Z").id)
    qtbot.mouseClick(window.inspector.grad.copy, Qt.LeftButton)
    assert QGuiApplication.clipboard().text() == "[[1, 1], [1, 1]]"


def test_hover_shows_op_shape_and_grad_norm(qtbot, window, seed_graph):
    draw(qtbot, window, seed_graph)
    view = window.view
    item = view.nodes[seed_graph.find("Z").id]
    pos = view.mapFromScene(item.sceneBoundingRect().center())
    event = QHelpEvent(QEvent.ToolTip, pos, view.viewport().mapToGlobal(pos))
    QApplication.sendEvent(view.viewport(), event)
    text = QToolTip.text()
    assert "AddmmBackward0" in text and "[2, 2]" in text and "grad norm: 2" in text


def test_dark_theme_and_small_zoom(qtbot, window, seed_graph):
    draw(qtbot, window, seed_graph)
    with qtbot.waitSignal(window.layout_applied, timeout=20_000):
        window.change(theme="dark")
    assert window.view.backgroundBrush().color().lightness() < 80
    click(qtbot, window.view, seed_graph.find("Z").id)
    window.screenshot(out("dark_theme.png"))
    window.view.zoom(0.1)
    window.screenshot(out("small_zoom.png"))


def test_theme_switch_recolours_the_selection(qtbot, window, seed_graph):
    draw(qtbot, window, seed_graph)
    z = window.view.nodes[seed_graph.find("Z").id]
    click(qtbot, window.view, z.key)
    with qtbot.waitSignal(window.layout_applied, timeout=20_000):
        window.change(theme="dark")
    assert z.marks["selected"] == QColor(window.view.theme.accent) == QColor("#ffa94d")
