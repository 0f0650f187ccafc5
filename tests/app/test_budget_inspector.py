"""A gradient kept only as a summary (past the budget) is shown as one in the inspector."""

import torch

from tests.app.conftest import click, out

SCRIPT = """\
import torch
torch.manual_seed(0)
w = torch.randn(16, 16, requires_grad=True)
loss = (torch.ones(8, 16) @ w).exp().mean()  # exp's output is held by no variable
loss.backward()
"""


def test_a_run_past_its_budget_shows_the_summary_and_how_to_keep_it_whole(qtbot, window, tmp_path):
    script = tmp_path / "net.py"
    script.write_text(SCRIPT)
    with qtbot.waitSignal(window.layout_applied, timeout=60_000):
        window.open_source(str(script), budget=0)
    exp = window.graph.find("ExpBackward0")
    assert exp.grad_snapshot.data is None  # the budget reached the trace of the run
    torch.manual_seed(0)
    w = torch.randn(16, 16, requires_grad=True)
    e = (torch.ones(8, 16) @ w).exp()
    norm = torch.autograd.grad(e.mean(), e)[0].norm().item()
    click(qtbot, window.view, exp.id)
    text = window.inspector.text()
    assert "kept only a summary" in text and f"norm {norm:.6g}" in text and "keep=[" in text
    assert "[8, 16] float32: kept as a summary" in window.inspector.grad.text.text()
    assert "norm" in window.inspector.grad.stats.text()
    window.screenshot(out("inspector_summarised_gradient.png"))
