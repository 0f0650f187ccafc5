"""Values mode writes each edge's flow beside it; health mode draws it as thick as its norm."""

import math
import xml.etree.ElementTree as ET

import torch
from PySide6.QtWidgets import QGraphicsSimpleTextItem

import gradviz
from gradviz.app.items import EdgeBundle
from gradviz.core.viewmodel import Colouring
from gradviz.layout import layout
from gradviz.layout.export import export
from gradviz.layout.render import positioned_dot
from tests.app.conftest import draw, out
from tests.app.test_flows_inspector import accumulate_graph, demo_graph

SVG = "{http://www.w3.org/2000/svg}"


def _expected(graph, src, dst):
    """What dst's backward sent to src, computed by torch itself on the demo's numbers."""
    A = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    B = torch.tensor([4.0, 5.0, 6.0], requires_grad=True)
    C, D = A * B, A + B
    ones = torch.ones(3)
    sent = {("A", "C"): torch.autograd.grad(C, A, ones)[0],
            ("A", "D"): torch.autograd.grad(D, A, ones)[0]}[(src, dst)]
    return "[" + ", ".join(f"{v:.4g}" for v in sent.tolist()) + "]"


def _edge(placed, graph, src, dst):
    s, d = graph.find(src).id, graph.find(dst).id
    (edge,) = [e for e in placed.edges if e.src == s and e.dst == d]
    return edge


def test_values_mode_labels_each_edge_with_its_flow_in_the_scene_and_svg(qtbot, window,
                                                                         tmp_path):
    graph = accumulate_graph()
    draw(qtbot, window, graph)
    with qtbot.waitSignal(window.layout_applied, timeout=20_000):
        window.change(labels="values")
    placed = window.view.layout_data
    want = {pair: _expected(graph, *pair) for pair in (("A", "C"), ("A", "D"))}
    assert want == {("A", "C"): "[4, 5, 6]", ("A", "D"): "[1, 1, 1]"}
    texts = [i for i in window.view.scene().items() if isinstance(i, QGraphicsSimpleTextItem)]
    shown = {i.text(): i.pos() for i in texts}
    for pair, text in want.items():
        edge = _edge(placed, graph, *pair)
        assert edge.label == text
        x, y = edge.label_at
        assert math.isclose(shown[text].x(), x)  # drawn where the layout put it
    window.screenshot(out("flow_edges_values_accumulate.png"))

    path = export(placed.model, tmp_path / "accumulate.svg")
    root = ET.parse(path).getroot()
    svg_texts = [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "flow"]
    assert set(want.values()) <= set(svg_texts)
    assert len(svg_texts) == len([e for e in placed.edges if e.label])
    dot = positioned_dot(placed)  # what Graphviz draws a PNG/PDF from
    for text in want.values():
        assert f'label="{text}" lp=' in dot
    export(placed.model, out("flow_edges_values_accumulate_export.png"))


def test_no_edge_labels_outside_values_mode():
    graph = accumulate_graph()
    assert not any(e.label for e in layout(graph, labels="compact").edges)


def test_health_mode_draws_the_larger_flow_thicker():
    a = torch.tensor([1.0, 2.0], requires_grad=True)
    big = a * 1000.0
    small = a * 0.001
    loss = (big + small).sum()
    norms = {t: torch.autograd.grad(t, a, torch.ones(2), retain_graph=True)[0].norm()
             for t in (big, small)}
    graph = gradviz.trace(loss)
    loss.backward()
    flows = {graph.node_for(t).id: n for t, n in norms.items()}
    placed = layout(gradviz.layout.model_of(graph).changed(colouring=Colouring.HEALTH))
    leaf = graph.node_for(a).id
    pens = {e.dst: e.pen for e in placed.edges if e.src == leaf}
    thick = max(pens, key=pens.get)
    assert thick == max(flows, key=flows.get) and pens[thick] > min(pens.values())
    plain = layout(graph)
    assert {e.pen for e in plain.edges} == {1.0}


def test_health_mode_on_vanishing_orders_edge_widths_by_flow_norm(qtbot, window):
    graph = demo_graph("vanishing")
    draw(qtbot, window, graph, collapsed=frozenset())
    with qtbot.waitSignal(window.layout_applied, timeout=20_000):
        window.actions_by_name["health"].setChecked(True)
    placed = window.view.layout_data
    norms = {}
    for e in placed.edges:
        sent = graph.flow(e.src, e.dst)  # the flow tensor itself, its norm taken here
        if sent is not None and sent.norm() > 0:
            norms[(e.src, e.dst)] = float(sent.norm())
    pens = {(e.src, e.dst): e.pen for e in placed.edges if (e.src, e.dst) in norms}
    ordered = sorted(norms, key=norms.get)
    for p, q in zip(ordered, ordered[1:]):  # flows equal up to float32 rounding: equal pens
        if math.isclose(norms[p], norms[q], rel_tol=1e-6):
            assert math.isclose(pens[p], pens[q], rel_tol=1e-6)
        else:
            assert pens[p] < pens[q]
    assert pens[ordered[-1]] > 3 * pens[ordered[0]]
    window.screenshot(out("flow_edges_health_vanishing.png"))


def _label_spots(window) -> set:
    """Where the view has written edge labels: the flow texts on screen, by position."""
    return {(round(i.x(), 1), i.text()) for i in window.view.scene().items()
            if isinstance(i, QGraphicsSimpleTextItem) and i.isVisible()}


def test_player_and_presenter_label_only_the_flows_sent_so_far(qtbot, window):
    from tests.app.test_player import KEYS, press
    from tests.layout.test_flow_labels import sent_by

    graph = demo_graph("mlp")
    draw(qtbot, window, graph)
    press(qtbot, window, "values")
    for presenting in (False, True):
        if presenting:
            qtbot.keyClick(window.view, KEYS["present"])  # values on already: no new layout
            qtbot.waitUntil(window.isFullScreen)
            press(qtbot, window, "home")
        else:
            press(qtbot, window, "next")
        for step in range(len(graph.capture.order)):
            if step:
                press(qtbot, window, "next")
            placed = window.view.layout_data
            want = sent_by(graph, step)
            assert {(e.src, e.dst) for e in placed.edges if e.label_at} == want
            spots = {(round(e.label_at[0], 1), e.label) for e in placed.edges if e.label_at}
            assert _label_spots(window) == spots and len(spots) == len(want)
            labels = [i for i in window.view.scene().items()
                      if isinstance(i, QGraphicsSimpleTextItem)]
            lines = [i for i in window.view.scene().items() if isinstance(i, EdgeBundle)]
            assert all(t.zValue() > e.zValue() for t in labels for e in lines)  # none hidden
            if step == 3:
                window.screenshot(out(f"flow_labels_{'presenter' if presenting else 'player'}"
                                      f"_step4.png"))


def test_health_mode_reads_each_flow_once_per_pass(monkeypatch):
    from gradviz.core import flows as flows_mod
    from gradviz.layout import restyle

    graph = demo_graph("mlp")
    reads = []
    real = flows_mod.flow_snapshot
    monkeypatch.setattr(flows_mod, "flow_snapshot", lambda g, e: reads.append(e) or real(g, e))
    health = gradviz.layout.model_of(graph).changed(colouring=Colouring.HEALTH)
    placed = layout(health)
    assert sorted(reads) == list(range(len(graph.edges)))
    first = [e.pen for e in placed.edges]
    again = restyle(placed, health)  # a player step, say: nothing read again
    assert len(reads) == len(graph.edges) and [e.pen for e in again.edges] == first
