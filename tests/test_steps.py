"""The player's model on the seed demo: which node each of next/previous/first/last reaches."""

import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image
from pypdf import PdfReader

import gradviz
from gradviz.core.collapse import module_key, view
from gradviz.core.steps import Steps, forward_order, on_view
from gradviz.layout.export import ExportError
from gradviz.layout.steps import export_steps
from gradviz.layout.style import theme

from .demos.harness import run_demo

OUT = Path(__file__).parent / "_out"  # pictures that tests make, for a person to look at


@pytest.fixture
def seed(monkeypatch):
    return run_demo("linear", monkeypatch).passes[0].graph


def test_backward_moves_from_the_loss_to_the_leaves(seed):
    steps = Steps.of(seed, "backward")
    S, Z, W = seed.find("S"), seed.find("Z"), seed.find("W")
    at = steps.first()
    assert steps.order[at] == S.id
    at = steps.next(at)
    assert steps.order[at] == Z.id
    assert steps.order[steps.previous(at)] == S.id
    at = steps.last()
    assert steps.order[at] == W.id  # W is reached last, behind its two transposes
    assert steps.next(at) == at and steps.previous(steps.first()) == steps.first()
    assert seed.cols.op[steps.order[steps.previous(at)]] == "TBackward0"


def test_forward_moves_in_creation_order(seed):
    steps = Steps.of(seed, "forward")
    W, Z, S = (seed.find(v) for v in "WZS")
    (user_t,) = seed.successors()[W.id]  # W.t() in the demo
    (inner_t,) = seed.successors()[user_t]  # the transpose inside F.linear
    assert steps.order == (user_t, inner_t, Z.id, S.id)
    assert steps.order[steps.first()] == user_t
    assert steps.order[steps.next(steps.first())] == inner_t
    assert steps.order[steps.last()] == S.id
    assert steps.order[steps.previous(steps.last())] == Z.id


def test_forward_follows_the_script_line_by_line(monkeypatch):
    graph = run_demo("neuron", monkeypatch).passes[0].graph
    names = [graph.cols.name[nid] for nid in forward_order(graph)]
    assert names == ["x1w1", "x2w2", "x1w1x2w2", "N", "O"]


def test_backward_state_reveals_gradients_as_reached(seed):
    steps = Steps.of(seed, "backward")
    S, Z = seed.find("S"), seed.find("Z")
    state = steps.state(steps.next(steps.first()))
    assert state["current"] == Z.id
    assert state["done"] == {S.id}
    # Z has just sent its flows: the gradients of its inputs, each with Z as sole consumer,
    # are whole already
    assert state["show_grad"] == {S.id, Z.id} | {src for src, dst, _ in seed.edges if dst == Z.id}
    assert steps.state(steps.last())["show_grad"] == set(range(len(seed)))


def test_backward_step_lights_the_flows_its_node_sent(monkeypatch):
    graph = run_demo("accumulate", monkeypatch).passes[0].graph
    steps, order_of = Steps.of(graph, "backward"), graph.capture.order_of
    A, C, D = (graph.find(v).id for v in "ACD")
    for step, nid in enumerate(steps.order):
        state = steps.state(step)
        assert state["current"] == nid
        # independently: the edges whose consumer is this node, from graph.edges
        assert set(state["sent"]) == {e for e, (_, dst, _) in enumerate(graph.edges)
                                      if dst == nid}
        consumers = {n: {dst for src, dst, _ in graph.edges if src == n}
                     for n in range(len(graph))}
        whole = {n for n in range(len(graph))
                 if (consumers[n] and all(order_of(c) <= step for c in consumers[n]))
                 or order_of(n) <= step}
        assert state["show_grad"] == whole
        assert (A in state["show_grad"]) == (step >= max(order_of(C), order_of(D)))
    assert order_of(A) > max(order_of(C), order_of(D))


def test_forward_state_has_inputs_done_and_no_gradients(seed):
    steps = Steps.of(seed, "forward")
    Z = seed.find("Z")
    state = steps.state(steps.step_of(Z.id))
    leaves = {seed.find(v).id for v in ("X", "W", "B")}
    assert leaves <= state["done"] and Z.id not in state["done"]
    assert state["show_grad"] == set()


def test_out_of_range_and_unknown_mode(seed):
    with pytest.raises(IndexError):
        Steps.of(seed, "forward").state(99)
    with pytest.raises(ValueError, match="forward, backward"):
        Steps.of(seed, "sideways")


def test_no_backward_yet_says_so():
    import torch

    x = torch.ones(2, requires_grad=True)
    graph = gradviz.trace((x * 2).sum())
    with pytest.raises(ValueError, match="run backward"):
        Steps.of(graph, "backward")


@pytest.mark.parametrize("name", ["linear", "neuron"])
def test_loaded_session_keeps_the_forward_order(name, monkeypatch, tmp_path):
    graph = run_demo(name, monkeypatch).passes[0].graph
    loaded = gradviz.load(gradviz.save(graph, tmp_path / "demo.gradviz"))
    assert all(fn is None for fn in loaded.cols.fn)
    assert forward_order(loaded) == forward_order(graph)


def test_caption_names_the_step(seed):
    steps = Steps.of(seed, "backward")
    assert steps.caption(1) == "backward 2/7: Z (AddmmBackward0)"


def test_folded_module_takes_the_state_of_its_members(monkeypatch):
    graph = run_demo("mlp", monkeypatch).passes[0].graph
    steps, shown, fc2 = Steps.of(graph, "backward"), view(graph, {"fc2"}), module_key("fc2")
    inside = [step for step, nid in enumerate(steps.order) if graph.cols.module[nid] == "fc2"]
    assert len(inside) == 4
    assert on_view(steps.state(inside[0]), shown)["current"] == fc2
    assert fc2 not in on_view(steps.state(inside[-1]), shown)["done"]
    after = on_view(steps.state(inside[-1] + 1), shown)
    assert fc2 in after["done"] and after["current"] == steps.order[inside[-1] + 1]


def test_steps_pdf_has_one_page_per_step_at_fixed_positions(seed, tmp_path):
    for mode in ("backward", "forward"):
        steps = Steps.of(seed, mode)
        pdf = PdfReader(export_steps(seed, tmp_path / f"{mode}.pdf", mode))
        assert len(pdf.pages) == len(steps)
        assert len({tuple(page.mediabox) for page in pdf.pages}) == 1
        for step in (0, steps.last()):
            assert steps.caption(step) in pdf.pages[step].extract_text()


def test_steps_pdf_reveals_gradients_as_backward_reaches_them(seed, tmp_path):
    pdf = PdfReader(export_steps(seed, tmp_path / "backward.pdf", "backward"))
    first, last = pdf.pages[0].extract_text(), pdf.pages[-1].extract_text()
    assert "grad ?" in first and "grad ?" not in last
    assert "grad [[3.6, -0.9, 1.3], [3.6, -0.9, 1.3]]" in last.replace("\n", " ")


def test_steps_pdf_bad_requests_are_export_errors(seed, tmp_path):
    with pytest.raises(ExportError, match="pdf"):
        export_steps(seed, tmp_path / "steps.png", "backward")
    with pytest.raises(ExportError, match="forward, backward"):
        export_steps(seed, tmp_path / "steps.pdf", "sideways")


def _orange_rows(png: Path, colour: str) -> tuple[float, int]:
    """Mean row and count of the pixels drawn in ``colour`` (the player's current mark)."""
    image = Image.open(png).convert("RGB")
    want = tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))
    rows = [i // image.width for i, px in enumerate(image.get_flattened_data())
            if sum(abs(a - b) for a, b in zip(px, want)) < 40]
    return sum(rows) / max(len(rows), 1), len(rows)


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="needs pdftoppm (poppler-utils)")
def test_first_and_last_pages_render(seed, tmp_path):
    pdf = export_steps(seed, tmp_path / "backward.pdf", "backward")
    OUT.mkdir(exist_ok=True)
    marks = []
    for page, name in ((1, "first"), (7, "last")):
        stem = OUT / f"steps_backward_{name}"
        subprocess.run(["pdftoppm", "-png", "-r", "80", "-f", str(page), "-l", str(page),
                        "-singlefile", str(pdf), str(stem)], check=True)
        marks.append(_orange_rows(stem.with_suffix(".png"), theme("light").current))
    (first_row, first_count), (last_row, last_count) = marks
    assert first_count > 100 and last_count > 100
    assert last_row < first_row  # the current mark moved from S at the bottom to W at the top


def test_each_backward_page_lights_the_edges_its_node_sent(monkeypatch):
    """The pages of a --steps PDF are these restyles of one layout (see export_steps)."""
    from gradviz.layout import layout, restyle
    from gradviz.layout.export import model_for

    graph = run_demo("accumulate", monkeypatch).passes[0].graph
    steps, model = Steps.of(graph, "backward"), model_for(graph, labels="values")
    placed = layout(model)
    for step, nid in enumerate(steps.order):
        picture = restyle(placed, model.changed(state=on_view(steps.state(step), model.folded)))
        lit = {(e.src, e.dst) for e in picture.edges if e.mark == "current"}
        assert lit == {(src, dst) for src, dst, _ in graph.edges if dst == nid}


def test_steps_pdf_shows_values_by_default_on_a_small_graph(tmp_path):
    from gradviz.cli import main

    out = tmp_path / "steps.pdf"
    assert main(["export", "accumulate", "--steps", "backward", "-o", str(out), "--quiet"]) == 0
    pages = [page.extract_text() for page in PdfReader(out).pages]
    assert all("value [1, 2, 3]" in page for page in pages)
    # A's gradient is whole once C and D, its consumers, have both sent their shares
    shown = ["grad [5, 6, 7]" in page for page in pages]
    consumers = [i for i, page in enumerate(pages)
                 if ": C (" in page.strip().splitlines()[-1]
                 or ": D (" in page.strip().splitlines()[-1]]
    assert len(consumers) == 2
    assert shown == [i >= max(consumers) for i in range(len(pages))]
    plain = tmp_path / "plain.pdf"
    assert main(["export", "accumulate", "--steps", "backward", "-o", str(plain), "--quiet",
                 "--labels", "compact"]) == 0
    assert "grad" not in PdfReader(plain).pages[-1].extract_text()
