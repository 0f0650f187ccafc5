"""The memory chart on ``--steps backward`` pages: bars from ``g.memory_timeline()``, the
page's step marked, and the caption read back from the PDF."""

import pytest
from pypdf import PdfReader

from gradviz.core.budget import format_bytes
from gradviz.core.memory import HeldCurve
from gradviz.layout import layout
from gradviz.layout.held_chart import HEIGHT, RUN, TO_COME, on_page
from gradviz.layout.steps import export_steps
from tests.core.test_memory import blocks_after_backward


@pytest.fixture
def blocks_graph():
    return blocks_after_backward()


def held(g) -> list[int]:
    return [s["activation"] + s["parameter"] for s in g.memory_timeline()]


def test_bars_follow_the_timeline_and_the_mark_moves(blocks_graph):
    g = blocks_graph
    expected = held(g)
    curve = HeldCurve.of(g)
    placed = layout(g)
    marks = []
    for step in (0, 5):
        page = on_page(placed, curve, step)
        assert set(placed.nodes) < set(page.nodes)  # the graph is all still there
        bars = {int(k.rsplit(":", 1)[1]): b for k, b in page.nodes.items()
                if str(k).startswith("memory:bar:")}
        # one bar per point with something held, as tall as what is held there
        assert sorted(bars) == [k for k, n in enumerate(expected) if n]
        for k, bar in bars.items():
            assert bar.height == pytest.approx(HEIGHT * expected[k] / max(expected))
            assert bar.fill == (RUN if k <= step + 1 else TO_COME)
        mark = page.nodes["memory:mark"]
        left = min(b.x for b in bars.values())
        each = bars[1].x - bars[0].x
        assert mark.x == pytest.approx(left + each * (step + 1))  # after the step's node ran
        marks.append(mark.x)
        assert page.height > placed.height  # under the graph
    assert marks[1] > marks[0]


def test_backward_step_pages_carry_the_chart_and_forward_pages_do_not(blocks_graph, tmp_path):
    g = blocks_graph
    expected = held(g)
    path = export_steps(g, tmp_path / "backward.pdf", "backward", collapsed=())
    pages = PdfReader(path).pages
    assert len(pages) == len(expected) - 1
    for k in (0, 3, len(pages) - 1):
        text = " ".join(pages[k].extract_text().split())
        assert (f"still held after step {k + 1} of {len(expected) - 1}: "
                f"{format_bytes(expected[k + 1])} of {format_bytes(expected[0])}") in text
    forward = export_steps(g, tmp_path / "forward.pdf", "forward", collapsed=())
    assert "still held" not in PdfReader(forward).pages[0].extract_text()
