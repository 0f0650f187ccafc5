"""A graph of a few thousand nodes: far out one item paints them all, close in each node does."""

from PySide6.QtCore import QPointF
from PySide6.QtGui import QColor

from tests.app.conftest import benchmark_graph, draw, out


def test_thousands_of_nodes_at_fit_and_close_in(qtbot, window):
    g = benchmark_graph("gpt", 3000)
    draw(qtbot, window, g, collapsed=frozenset())
    view = window.view
    assert len(view.nodes) == len(g) > 3000
    assert view._far and view._overview.isVisible()  # fit-to-window: the overview paints
    window.actions_by_name["lineage"].setChecked(True)
    centre = view.mapToScene(view.viewport().rect().center())
    key = min(view.nodes, key=lambda k: (view.nodes[k].sceneBoundingRect().center() - centre)
              .manhattanLength())
    view.select(key)
    view.zoom(0.08 / view.scale_factor())
    view.center_on(key)
    image = view.viewport().grab().toImage()
    pos = view.mapFromScene(view.nodes[key].sceneBoundingRect().center())
    assert image.pixelColor(pos) == QColor(view.theme.accent)  # the selection shows far out
    window.screenshot(out("large_zoom_0.08.png"))
    view.zoom(1 / view.scale_factor())
    view.center_on(key)
    assert not view._far and not view._overview.isVisible()
    image = view.viewport().grab().toImage()
    box = view.nodes[key].box
    pos = view.mapFromScene(QPointF(box.x - box.width / 2, box.y))  # on the outline, left side
    assert image.pixelColor(pos) == QColor(view.theme.accent)  # its thick outline, close in
    window.screenshot(out("large_zoom_1.png"))
    view.fit()
    assert view._far
    view.resetTransform()  # as the presenter does it: the level of detail follows
    view.scale(2.0, 2.0)
    assert not view._far and not view._overview.isVisible()
