"""The graph summary says where the memory saved for backward is, and what to checkpoint."""

import torch

import gradviz
from gradviz.core.memory_report import heaviest_nodes
from tests.app.conftest import draw, out
from tests.core.test_memory import Blocks


def test_the_summary_lists_the_heaviest_nodes_and_suggests_a_checkpoint(qtbot, window):
    x = torch.randn(8, 32, requires_grad=True)
    with gradviz.record():
        loss = Blocks()(x)
    g = gradviz.trace(loss)
    loss.backward()
    draw(qtbot, window, g)
    window.inspector.inspect(g, None)
    text = window.inspector.text()
    assert f"Saved for backward: " in text
    top = heaviest_nodes(g)[0]
    assert f"{top.label}  {top.module}" in text
    assert "Suggestion: torch.utils.checkpoint on blocks." in text
    window.inspector.resize(560, 800)
    window.screenshot(out("inspector_memory_summary.png"))
