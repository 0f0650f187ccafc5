"""Layout as work for a worker thread: progress, cancel, timeout, and the structure cache."""

import subprocess

import pytest

import gradviz.layout as layout_module
from gradviz.layout import Cancelled, cache, layout
from gradviz.layout.graphviz_errors import GraphvizFailed
from gradviz.layout.graphviz_run import run_graphviz


@pytest.fixture(autouse=True)
def cold_cache():
    cache._store.clear()
    yield
    cache._store.clear()


def test_progress_names_the_stages(seed):
    stages = []
    layout(seed, progress=lambda stage, fraction: stages.append((stage, fraction)))
    assert stages[0] == ("building the scene", 0.0) and stages[-1] == ("laid out", 1.0)
    assert any(stage.startswith("dot: laying out 7 nodes") for stage, _ in stages)


def test_should_stop_kills_a_running_dot():
    source = "digraph { " + " ".join(f"a{i} -> a{i + 1};" for i in range(3000)) + " }"
    with pytest.raises(Cancelled):
        run_graphviz(source, "json0", should_stop=lambda: True)


def test_a_timeout_kills_a_running_dot_and_says_how_long_it_waited():
    source = "digraph { " + " ".join(f"a{i} -> a{i + 1};" for i in range(3000)) + " }"
    with pytest.raises(GraphvizFailed, match="dot took more than 0.01 s"):
        run_graphviz(source, "json0", timeout=0.01)


def test_a_dot_that_runs_too_long_falls_back_to_the_layered_layout(seed, monkeypatch):
    def too_slow(*args, **kwargs):
        raise GraphvizFailed("dot took more than 0.01 s")

    monkeypatch.setattr(layout_module, "run_graphviz", too_slow)
    placed = layout(seed, timeout=0.01)
    assert placed.engine == "layered"
    assert placed.warnings == ["dot took more than 0.01 s; showing the layered layout instead."]


def test_the_same_structure_reuses_positions_without_running_dot(seed, monkeypatch):
    first = layout(seed)
    monkeypatch.setattr(layout_module, "run_graphviz", None)  # would fail if called
    again = layout(seed, theme="dark", color_by="grad_norm")
    assert {k: (b.x, b.y) for k, b in again.nodes.items()} == \
        {k: (b.x, b.y) for k, b in first.nodes.items()}
    assert again.background != first.background and again.legend
    with pytest.raises(TypeError):  # other text on the nodes: a new layout is needed
        layout(seed, labels="full")


def test_layouts_in_a_row_share_one_dot_process_that_answers_like_a_fresh_one():
    from gradviz.layout import resident

    sources = ["digraph g { a -> b; a -> c }", "digraph g { x -> y -> z; x -> z }"]
    first = run_graphviz(sources[0], "json0")
    pid = resident._proc.pid
    second = run_graphviz(sources[1], "json0")
    assert resident._proc.pid == pid
    for source, out in zip(sources, (first, second)):
        fresh = subprocess.run(["dot", "-Tjson0"], input=source.encode(), capture_output=True)
        assert out == fresh.stdout


def test_a_cancelled_or_broken_layout_leaves_the_next_one_working():
    from gradviz.layout import resident

    chain = "digraph { " + " ".join(f"a{i} -> a{i + 1};" for i in range(3000)) + " }"
    run_graphviz("digraph { a -> b }", "json0")
    proc = resident._proc
    with pytest.raises(Cancelled):
        run_graphviz(chain, "json0", should_stop=lambda: True)
    assert resident._proc is None  # killed with the layout, its pipes closed
    assert proc.poll() is not None and proc.stdin.closed and proc.stdout.closed
    with pytest.raises(GraphvizFailed, match="syntax error"):
        run_graphviz("digraph { a -> }", "json0")
    assert b'"name": "b"' in run_graphviz("digraph { a -> b }", "json0")
