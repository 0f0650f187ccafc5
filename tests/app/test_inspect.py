"""Clicking a node through its real position shows its value and captured gradient."""

from PySide6.QtCore import QPoint, Qt

from tests.app.conftest import click, draw, out, summary


def test_click_z_shows_gradient_and_value(qtbot, window, seed_graph):
    draw(qtbot, window, seed_graph)
    z = seed_graph.find("Z").id
    click(qtbot, window.view, z)
    assert window.view.selected == z
    text = window.inspector.text()
    assert "[[1, 1], [1, 1]]" in text
    assert "[[2.15, 2.91], [1.60, 1.26]]" in text
    assert "AddmmBackward0" in text and "retain_grad" in text  # op and the explain text
    assert "mat1: [2, 3] float32" in text  # saved tensors
    window.screenshot(out("inspect_z.png"))


def test_empty_click_shows_summary(qtbot, window, seed_graph):
    draw(qtbot, window, seed_graph)
    click(qtbot, window.view, seed_graph.find("Z").id)
    qtbot.mouseClick(window.view.viewport(), Qt.LeftButton, pos=QPoint(5, 5))  # empty corner
    assert window.view.selected is None
    text = summary(qtbot, window)
    assert "7 nodes (3 leaves, 3 ops, 1 output)" in text
    assert "gradients captured" in text


def test_summary_before_backward(qtbot, window):
    import torch

    import gradviz

    x = torch.ones(2, requires_grad=True)
    y = (x * 3).sum()
    draw(qtbot, window, gradviz.trace(y))
    assert "backward not run yet" in summary(qtbot, window)
    click(qtbot, window.view, 0)
    assert "backward not run yet" in window.inspector.text()  # the gradient panel says so too
    assert "run the forward pass inside gradviz.record()" in window.inspector.text()


def test_open_seed_demo_and_click_z(qtbot, window):
    window.gallery.list.setCurrentRow(0)
    with qtbot.waitSignal(window.layout_applied, timeout=60_000):
        qtbot.keyClick(window.gallery.list, Qt.Key_Return)  # activate "linear" in the gallery
    assert "demo linear" in window.windowTitle()
    z = window.graph.find("Z").id
    click(qtbot, window.view, z)
    text = window.inspector.text()
    assert "[[1, 1], [1, 1]]" in text and "[[2.15, 2.91], [1.60, 1.26]]" in text


def test_a_recorded_graph_says_why_an_inner_op_has_no_value(qtbot, window):
    from gradviz.app.inspector import NOT_RECORDED, NOT_SEEN
    from gradviz.sources import open_source

    graph = open_source("mlp").passes[0]  # recorded: F.linear transposes its weight inside
    draw(qtbot, window, graph)
    inner = next(n for n in graph.nodes if n.op == "TBackward0")
    addmm = next(n for n in graph.nodes if n.op == "AddmmBackward0")
    assert inner.value_snapshot is None and addmm.value_snapshot is not None
    click(qtbot, window.view, inner.id)
    assert NOT_SEEN in window.inspector.text() and NOT_RECORDED not in window.inspector.text()
