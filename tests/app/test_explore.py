"""Search, collapse and expand, upstream/downstream highlighting, zoom and fit, tooltips."""

import torch
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication
from torch import nn

import gradviz
from gradviz.app.items import ClusterItem
from tests.app.conftest import click, draw, out


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.enc = nn.Sequential(nn.Linear(3, 4), nn.ReLU())
        self.head = nn.Linear(4, 1)

    def forward(self, x):
        return self.head(self.enc(x))


def net_graph():
    torch.manual_seed(0)
    with gradviz.record():
        y = Net()(torch.randn(2, 3)).sum()
    g = gradviz.trace(y)
    y.backward()
    return g


def test_search_steps_through_hits(qtbot, window, seed_graph):
    draw(qtbot, window, seed_graph)
    qtbot.keyClick(window, Qt.Key_F, Qt.ControlModifier)
    assert window.search.isVisible() and window.search.edit.hasFocus()
    qtbot.keyClicks(window.search.edit, "tbackward")
    assert len(window._hits) == 2 and window.search.count.text() == "2 matches"
    assert all(window.view.nodes[k].mark == "hit" for k in window._hits)  # dashed outlines
    qtbot.keyClick(window.search.edit, Qt.Key_Return)
    first = window.view.selected
    assert seed_graph.node(first).op == "TBackward0"
    assert window.search.count.text() == "1 of 2"
    qtbot.keyClick(window.search.edit, Qt.Key_Return)
    assert window.view.selected != first and window.search.count.text() == "2 of 2"
    qtbot.keyClick(window.search.edit, Qt.Key_Return, Qt.ShiftModifier)
    assert window.view.selected == first
    window.search.edit.setText("Z")  # by variable name
    qtbot.keyClick(window.search.edit, Qt.Key_Return)
    assert window.view.selected == seed_graph.find("Z").id
    window.search.edit.setText("nosuchthing")
    assert window.search.count.text() == "no match"
    qtbot.keyClick(window.search.edit, Qt.Key_Escape)
    assert not window.search.isVisible()
    assert all(item.mark != "hit" for item in window.view.nodes.values())


def test_search_by_module_path(qtbot, window):
    g = net_graph()
    draw(qtbot, window, g)
    window.search.open_bar()
    qtbot.keyClicks(window.search.edit, "enc.0")
    assert {g.cols.module[k] for k in window._hits} == {"enc.0"}


def test_collapse_and_expand_by_double_click(qtbot, window):
    g = net_graph()
    draw(qtbot, window, g, collapsed={"enc"})
    view = window.view
    assert "module:enc" in view.nodes and 6 not in view.nodes
    assert "4 nodes" in window._describe("module:enc") or "module" in window._describe("module:enc")
    window.screenshot(out("collapsed.png"))
    with qtbot.waitSignal(window.layout_applied, timeout=30_000):
        click(qtbot, view, "module:enc", double=True)
    assert "module:enc" not in view.nodes and 6 in view.nodes
    clusters = [i for i in view.scene().items() if isinstance(i, ClusterItem)]
    assert {c.path for c in clusters} >= {"enc", "enc.0", "head"}
    window.screenshot(out("expanded.png"))
    enc = next(c for c in clusters if c.path == "enc")
    corner = view.mapFromScene(enc.sceneBoundingRect().topLeft()) + QPoint(4, 4)
    assert view.key_at(corner) is None
    with qtbot.waitSignal(window.layout_applied, timeout=30_000):
        qtbot.mouseDClick(view.viewport(), Qt.LeftButton, pos=corner)
    assert "module:enc" in view.nodes


def test_lineage_highlights_upstream_and_downstream(qtbot, window, seed_graph):
    draw(qtbot, window, seed_graph)
    view = window.view
    x = seed_graph.find("X").id
    click(qtbot, view, x)
    marks = {k: item.mark for k, item in view.nodes.items()}
    assert marks[x] == "selected" and marks[seed_graph.find("Z").id] is None
    window.actions_by_name["lineage"].setChecked(True)
    marks = {k: item.mark for k, item in view.nodes.items()}
    assert marks[seed_graph.find("Z").id] == "related" and marks[seed_graph.find("S").id] == "related"
    assert marks[seed_graph.find("W").id] is None  # W is a sibling input, not a descendant
    window.screenshot(out("lineage_x.png"))


def test_zoom_about_cursor_and_fit(qtbot, window, seed_graph):
    draw(qtbot, window, seed_graph)
    view = window.view
    z = view.nodes[seed_graph.find("Z").id]
    anchor = view.mapFromScene(z.sceneBoundingRect().center())
    before = view.mapToScene(anchor)
    scale = view.scale_factor()
    view.zoom(2.0, anchor)
    assert view.scale_factor() > scale * 1.9
    assert (view.mapToScene(anchor) - before).manhattanLength() < 2  # the point stays put
    view.setFocus()
    qtbot.keyClick(view, Qt.Key_Minus)
    assert view.scale_factor() < scale * 2
    for _ in range(40):
        view.zoom(2.0)
    assert view.scale_factor() <= 8.0  # clamped
    qtbot.keyClick(view, Qt.Key_F)
    assert abs(view.scale_factor() - scale) < 1e-6


def test_tooltip_text(qtbot, window, seed_graph):
    draw(qtbot, window, seed_graph)
    text = window._describe(seed_graph.find("Z").id)
    assert "AddmmBackward0" in text and "[2, 2]" in text and "grad norm: 2" in text


def test_drag_pans_and_does_not_select(qtbot, window, seed_graph):
    draw(qtbot, window, seed_graph)
    view = window.view
    port = view.viewport()
    start, end = QPoint(20, 20), QPoint(220, 120)
    before = view.mapToScene(start)

    def send(kind, pos, buttons):
        event = QMouseEvent(kind, QPointF(pos), QPointF(port.mapToGlobal(pos)), Qt.LeftButton,
                            buttons, Qt.NoModifier)
        QApplication.sendEvent(port, event)

    send(QMouseEvent.MouseButtonPress, start, Qt.LeftButton)
    for step in range(1, 11):
        send(QMouseEvent.MouseMove, start + (end - start) * (step / 10), Qt.LeftButton)
    send(QMouseEvent.MouseButtonRelease, end, Qt.NoButton)
    moved = view.mapToScene(end) - before
    assert moved.manhattanLength() < 3  # the scene point grabbed stayed under the cursor
    assert view.selected is None


def test_going_to_a_node_of_a_big_graph_zooms_in_to_read_it(qtbot, window):
    from gradviz.app.view import FOCUS_SCALE
    from tests.app.conftest import benchmark_graph

    graph = benchmark_graph("mlp", 300)
    draw(qtbot, window, graph, collapsed=())  # unfolded: by default its layers are one run
    view = window.view
    fitted = view.scale_factor()
    assert fitted < FOCUS_SCALE  # the whole graph fitted: nodes too small to read
    loss = graph.outputs[0].id
    window.select_node(loss)
    assert view.selected == loss and view.scale_factor() == FOCUS_SCALE
    centre = view.mapFromScene(view.nodes[loss].sceneBoundingRect().center())
    middle = view.viewport().rect().center()
    assert abs(centre.x() - middle.x()) <= 2 and abs(centre.y() - middle.y()) <= 2
    view.zoom(2.0)  # a user's own zoom is kept when going to the next node
    window.select_node(graph.find("AddmmBackward0").id)
    assert view.scale_factor() == FOCUS_SCALE * 2.0
