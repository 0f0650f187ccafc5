"""The memory colouring in the window: the View menu toggles it, the legend and folded totals."""

import torch

import gradviz
from gradviz.core.budget import format_bytes
from gradviz.core.keys import module_key
from gradviz.layout.memory_fill import MEMORY_RAMP
from tests.app.conftest import draw, out
from tests.core.test_memory import Blocks


def blocks_graph():
    model = Blocks()
    x = torch.randn(8, 32, requires_grad=True)
    seen = {}

    def pack(t):
        s = t.untyped_storage()
        seen[s.data_ptr()] = s.nbytes()
        return t

    h = model.blocks[0](x)
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        model.blocks[1](h)  # what blocks.1's ops save, each storage once
    with gradviz.record():
        loss = model(x)
    g = gradviz.trace(loss)
    loss.backward()
    return g, sum(seen.values())


def test_the_memory_action_colours_by_saved_bytes_with_totals_and_a_legend(qtbot, window):
    g, block_bytes = blocks_graph()
    draw(qtbot, window, g, collapsed={"blocks.1"})
    key = module_key("blocks.1")
    plain = {k: item.box.fill for k, item in window.view.nodes.items()}
    assert window.view.nodes[key].box.lines[0] == "blocks.1"
    with qtbot.waitSignal(window.layout_applied, timeout=20_000):
        window.actions_by_name["memory"].setChecked(True)
    fills = {k: item.box.fill for k, item in window.view.nodes.items()}
    assert fills != plain
    # blocks.1 folded holds more than any single op outside it: the darkest box
    assert fills[key] == MEMORY_RAMP[-1]
    assert window.view.nodes[key].box.lines[0] == f"blocks.1 — {format_bytes(block_bytes)}"
    assert window.view.legend.isVisible()
    legend = " ".join(lbl.text() for lbl in window.view.legend.findChildren(type(window.banner)))
    assert "Saved for backward" in legend and "unknown size" in legend
    size = window.view.legend.size()
    with qtbot.waitSignal(window.layout_applied, timeout=20_000):
        window.player.next()  # a restyle: the legend is built again, as large as before
    assert window.view.legend.size() == size and size.height() > 100
    window.screenshot(out("memory_colouring_blocks.png"))
    with qtbot.waitSignal(window.layout_applied, timeout=20_000):
        window.player.stop()
    # one colouring at a time: health takes over and the memory action unchecks itself
    with qtbot.waitSignal(window.layout_applied, timeout=20_000):
        window.actions_by_name["health"].setChecked(True)
    assert not window.actions_by_name["memory"].isChecked()
    assert "Gradient norm" in " ".join(
        lbl.text() for lbl in window.view.legend.findChildren(type(window.banner)))
    with qtbot.waitSignal(window.layout_applied, timeout=20_000):
        window.actions_by_name["health"].setChecked(False)
    assert {k: item.box.fill for k, item in window.view.nodes.items()} == plain
    assert window.view.nodes[key].box.lines[0] == "blocks.1"
