"""The graph summary says where the memory saved for backward is, and what to checkpoint."""

import threading

import torch

import gradviz
from gradviz.core.memory_report import heaviest_nodes
from tests.app.conftest import draw, out, summary
from tests.core.test_memory import Blocks


def test_the_summary_lists_the_heaviest_nodes_and_suggests_a_checkpoint(qtbot, window):
    x = torch.randn(8, 32, requires_grad=True)
    with gradviz.record():
        loss = Blocks()(x)
    g = gradviz.trace(loss)
    loss.backward()
    draw(qtbot, window, g)
    window.inspector.inspect(g, None)
    text = summary(qtbot, window)
    assert f"Saved for backward: " in text
    top = heaviest_nodes(g)[0]
    assert f"{top.label}  {top.module}" in text
    assert "Suggestion: torch.utils.checkpoint on blocks." in text
    window.inspector.resize(560, 800)
    window.screenshot(out("inspector_memory_summary.png"))


def test_the_summary_is_worked_out_off_the_gui_thread_and_a_stale_one_is_dropped(
        qtbot, window, seed_graph, monkeypatch):
    from gradviz.app import jobs

    release, threads = threading.Event(), []
    real = jobs.summary_text

    def slow(graph, scale=None):
        threads.append(threading.current_thread())
        release.wait(10)  # the GUI thread would hang here if it ran the summary itself
        return real(graph, scale)

    monkeypatch.setattr(jobs, "summary_text", slow)
    draw(qtbot, window, seed_graph)  # the first drawing asks for the summary
    qtbot.waitUntil(lambda: bool(threads), timeout=5_000)
    assert window.inspector.SUMMING in window.inspector.text()  # the window goes on meanwhile
    release.set()
    qtbot.waitUntil(lambda: "Saved for backward" in window.inspector.text(), timeout=10_000)
    assert threads and all(t is not threading.main_thread() for t in threads)
    # a node chosen while the summary is being worked out keeps the inspector
    release.clear()
    window.inspector.inspect(seed_graph, None)
    z = seed_graph.find("Z").id
    window.inspector.inspect(seed_graph, z)
    release.set()
    qtbot.waitUntil(lambda: not window.runner.busy, timeout=10_000)
    assert window.inspector.key == z and "Saved for backward:" not in window.inspector.text()
