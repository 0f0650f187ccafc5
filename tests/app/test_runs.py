"""A run of repeated blocks in the window: one box first, unfolded by double-clicks."""

from gradviz.core.runs import Run
from tests.app.conftest import click, draw, out
from tests.layout.test_runs import TITLE, encoder


def test_the_run_box_unfolds_to_its_blocks_then_to_one_block(qtbot, window):
    graph = encoder()
    draw(qtbot, window, graph)
    view, key = window.view, Run("layers", 0, 5).key
    assert [k for k in view.nodes if isinstance(k, str)] == [key]
    assert view.nodes[key].box.lines[0] == TITLE
    assert window._describe(key).startswith(TITLE + " (repeated blocks;")
    click(qtbot, view, key)
    members = [k for k in range(len(graph)) if (graph.cols.module[k] or "").startswith("layers.")]
    assert window.inspector.heading.text() == TITLE
    assert f"6 identical blocks of layers folded as one: {len(members)} nodes" in (
        window.inspector.text())
    window.screenshot(out("run_folded.png"))
    with qtbot.waitSignal(window.layout_applied, timeout=30_000):
        click(qtbot, view, key, double=True)
    blocks = {f"module:layers.{i}" for i in range(6)}
    assert {k for k in view.nodes if isinstance(k, str)} == blocks
    window.screenshot(out("run_unfolded.png"))
    view.fit()
    with qtbot.waitSignal(window.layout_applied, timeout=30_000):
        click(qtbot, view, "module:layers.3", double=True)
    assert {k for k in view.nodes if isinstance(k, str)} == blocks - {"module:layers.3"}
    assert any(graph.cols.module[k] == "layers.3.linear1" for k in view.nodes
               if isinstance(k, int))
