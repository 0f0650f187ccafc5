"""Flow labels (values mode): each appears once its edge has sent its flow, and none lies on a
box, a module's title or another label, whichever engine placed the graph."""

import itertools

import pytest
import torch
from torch import nn

import gradviz
from gradviz.core.steps import Steps, on_view
from gradviz.layout import cache, clusters, graphviz_run, layout, model_of, restyle
from gradviz.layout import steps as steps_export
from gradviz.layout.drawspec import (CLUSTER_FONTSIZE, CLUSTER_TITLE_X, CLUSTER_TITLE_Y,
                                     EDGE_FONTSIZE)
from gradviz.layout.render import positioned_dot
from gradviz.layout.textsize import text_width
from tests.app.test_flows_inspector import demo_graph
from tests.core.test_flows import ResidualCNN


@pytest.fixture(autouse=True)
def cold_cache():
    cache._store.clear()
    yield
    cache._store.clear()


def sent_by(graph, step: int) -> set:
    """The (src, dst) pairs whose flow was sent by backward step ``step`` or before: those
    into a node the backward pass had reached, read from the pass's order and the edges."""
    reached = set(graph.capture.order[:step + 1])
    return {(src, dst) for src, dst, _ in graph.edges if dst in reached}


def labelled(picture) -> set:
    return {(e.src, e.dst) for e in picture.edges if e.label_at is not None}


@pytest.mark.parametrize("demo", ["accumulate", "mlp"])
def test_a_flow_label_appears_once_its_edge_has_sent_and_never_moves(demo):
    graph = demo_graph(demo)
    model = model_of(graph, labels="values")
    placed = layout(model)
    assert labelled(placed) == {(e.src, e.dst) for e in placed.edges}  # no player: every flow
    at = {(e.src, e.dst): e.label_at for e in placed.edges}
    steps = Steps.of(graph, "backward")
    seen = []
    for step in range(len(steps)):
        picture = restyle(placed, model.changed(state=on_view(steps.state(step), model.folded)))
        assert labelled(picture) == sent_by(graph, step)
        assert all(e.label_at == at[(e.src, e.dst)] for e in picture.edges if e.label_at)
        seen.append(len(labelled(picture)))
    assert seen[0] < seen[-1] == len(placed.edges)
    forward = Steps.of(graph, "forward")
    picture = restyle(placed, model.changed(state=on_view(forward.state(0), model.folded)))
    assert labelled(picture) == set()  # no gradient exists during forward


def test_a_layout_made_mid_step_keeps_room_for_the_labels_still_to_come():
    graph = demo_graph("mlp")
    model = model_of(graph, labels="values")
    whole = {(e.src, e.dst): e.label_at for e in layout(model).edges}
    cache._store.clear()
    steps = Steps.of(graph, "backward")
    mid = layout(model.changed(state=on_view(steps.state(2), model.folded)))
    assert labelled(mid) == sent_by(graph, 2)
    end = restyle(mid, model.changed(state=on_view(steps.state(steps.last()), model.folded)))
    check_apart(end)
    for e in end.edges:  # where the whole picture has them (dot's curves move a hair)
        assert e.label_at == pytest.approx(whole[(e.src, e.dst)], abs=1.0)


def test_backward_steps_pdf_pages_label_only_the_flows_sent(tmp_path, monkeypatch):
    graph = demo_graph("mlp")
    pages = []
    real = steps_export.render
    monkeypatch.setattr(steps_export, "render",
                        lambda picture, *a, **k: pages.append(positioned_dot(picture))
                        or real(picture, *a, **k))
    steps_export.export_steps(graph, tmp_path / "steps.pdf", "backward", collapsed=())
    order = graph.capture.order
    assert len(pages) == len(order)
    for step, dot in enumerate(pages):  # each flow label is written with its position
        assert dot.count(' lp="') == len(sent_by(graph, step))


# -- no label on a box, a title or another label ---------------------------------------------
def _transformer():
    torch.manual_seed(0)
    layer = nn.TransformerEncoderLayer(d_model=8, nhead=2, dim_feedforward=16, dropout=0.0,
                                       batch_first=True)
    x = torch.randn(1, 3, 8, requires_grad=True)
    with gradviz.record():
        loss = (layer(x) ** 2).mean()
    g = gradviz.trace(loss)
    loss.backward()
    return g


def _cnn():
    torch.manual_seed(0)
    model, x = ResidualCNN(), torch.randn(2, 3, 6, 6, requires_grad=True)
    with gradviz.record():
        loss = model(x).logsumexp(1).sum()
    g = gradviz.trace(loss)
    loss.backward()
    return g


def _stacked():
    """Thirteen residual blocks whose values and gradients are all alike (zero weights and
    input), so that values mode, whose boxes are as wide as their numbers, still lays one
    block out for all (the blocks engine)."""

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln, self.fc = nn.LayerNorm(4), nn.Linear(4, 4)

        def forward(self, x):
            return x + self.fc(nn.functional.gelu(self.ln(x)))

    net = nn.Sequential(*[Block() for _ in range(13)], nn.Linear(4, 1))
    with torch.no_grad():
        for block in net[:13]:
            block.fc.weight.zero_()
            block.fc.bias.zero_()
    x = torch.zeros(2, 4, requires_grad=True)
    with gradviz.record():
        loss = net(x).sum()
    g = gradviz.trace(loss)
    loss.backward()
    return g


GRAPHS = {"mlp demo": lambda: demo_graph("mlp"), "residual cnn": _cnn,
          "transformer block": _transformer}


def _overlap(a, b) -> bool:
    (ax, ay, aw, ah), (bx, by, bw, bh) = a, b
    return ax < bx + bw and bx < ax + aw and ay < by + bh and by < ay + ah


def drawn_rect(e):
    """Where the renderers write an edge's label: from its left end and vertical centre, as
    wide as the text and one 9-point line high."""
    x, y = e.label_at
    return x, y - 5, text_width(e.label, EDGE_FONTSIZE), 10


def title(c):
    return (c.x + CLUSTER_TITLE_X, c.y + CLUSTER_TITLE_Y, text_width(c.label, CLUSTER_FONTSIZE),
            11)


def check_apart(placed) -> int:
    rects = [drawn_rect(e) for e in placed.edges if e.label_at is not None]
    assert len(rects) == len(placed.edges)
    for a, b in itertools.combinations(rects, 2):
        assert not _overlap(a, b), (a, b)
    solid = [b.rect for b in placed.nodes.values()] + [title(c) for c in placed.clusters]
    for a in rects:
        assert not any(_overlap(a, s) for s in solid), a
        left, top, w, h = a
        assert left >= 0 and top >= 0 and left + w <= placed.width and top + h <= placed.height
    return len(rects)


@pytest.mark.parametrize("engine", ["dot", "layered"])
@pytest.mark.parametrize("name", GRAPHS)
def test_flow_labels_overlap_no_box_title_or_other_label(name, engine, monkeypatch):
    graph = GRAPHS[name]()
    if engine == "layered":
        monkeypatch.setattr(graphviz_run.shutil, "which", lambda tool: None)
    placed = layout(graph, labels="values")
    assert placed.engine == engine
    assert check_apart(placed) >= 10


def test_flow_labels_overlap_nothing_in_the_blocks_layout(monkeypatch):
    monkeypatch.setattr(clusters, "ONE_DOT_RUN_BELOW", 50)
    placed = layout(_stacked(), labels="values")
    assert placed.engine == "dot+blocks"
    assert check_apart(placed) > 100


def test_an_edge_a_custom_function_sent_nothing_on_reads_no_gradient_not_zero():
    from tests.core.test_flows import DropsFirst, ZeroFirst

    a = torch.ones(3, requires_grad=True)
    b = torch.ones(3, requires_grad=True)
    none, zero = DropsFirst.apply(a, b), ZeroFirst.apply(a, b)
    loss = (none + zero).sum()
    g = gradviz.trace(loss)
    loss.backward()
    sent = torch.autograd.grad(ZeroFirst.apply(a, b).sum(), a)[0]  # torch's own: zeros
    placed = layout(g, labels="values")
    label = {(e.src, e.dst): e.label for e in placed.edges}
    leaf = g.node_for(a).id
    assert label[(leaf, g.node_for(none).id)] == "no gradient"
    assert label[(leaf, g.node_for(zero).id)] == f"[{', '.join('0' for _ in sent)}]"
    assert not sent.any()
    check_apart(placed)
