"""The layered layout used for huge graphs: what it promises about the picture."""

import pytest
import torch

import gradviz
from gradviz.core.collapse import module_key
from gradviz.layout import Cancelled, scene_of
from gradviz.layout.layered import NODESEP, layered_layout


@pytest.fixture
def chain_with_branches():
    torch.manual_seed(0)
    layers = torch.nn.Sequential(*[torch.nn.Linear(4, 4) for _ in range(6)])
    with gradviz.record():
        x = torch.randn(2, 4, requires_grad=True)
        h = layers(x)
        loss = (h * x).sum() + h.pow(2).mean()
    return gradviz.trace(loss)


def test_every_edge_points_down_and_parameters_sit_by_their_op(chain_with_branches):
    graph = chain_with_branches
    placed = layered_layout(scene_of(graph))
    boxes = placed.nodes
    for e in placed.edges:
        assert boxes[e.src].y < boxes[e.dst].y
        assert e.arrow[1][1] == pytest.approx(boxes[e.dst].y - boxes[e.dst].height / 2)
    weight = graph.find("3.weight").id
    (transpose,) = graph.successors()[weight]
    (addmm,) = graph.successors()[transpose]
    assert boxes[weight].y < boxes[transpose].y < boxes[addmm].y
    ranks = sorted({round(b.y) for b in boxes.values()})
    assert ranks.index(round(boxes[addmm].y)) - ranks.index(round(boxes[weight].y)) == 2


def test_nodes_of_a_row_never_overlap(chain_with_branches):
    placed = layered_layout(scene_of(chain_with_branches))
    rows = {}
    for b in placed.nodes.values():
        rows.setdefault(round(b.y), []).append(b)
    for row in rows.values():
        row.sort(key=lambda b: b.x)
        for a, b in zip(row, row[1:]):
            assert b.x - b.width / 2 >= a.x + a.width / 2 + NODESEP - 0.01


def test_clusters_surround_their_members(chain_with_branches):
    placed = layered_layout(scene_of(chain_with_branches))
    boxes = {c.path: c for c in placed.clusters}
    for b in placed.nodes.values():
        if b.cluster:
            c = boxes[b.cluster]
            assert c.x < b.x - b.width / 2 and b.x + b.width / 2 < c.x + c.width


def test_should_stop_cancels(chain_with_branches):
    with pytest.raises(Cancelled):
        layered_layout(scene_of(chain_with_branches), should_stop=lambda: True)


def test_long_edges_run_in_lanes_beside_the_boxes_and_the_chain_stays_straight():
    x = torch.randn(3, requires_grad=True)
    h = x
    for _ in range(8):  # residual blocks: h + exp(cos(sin(h)))
        h = h + h.sin().cos().exp()
    graph = gradviz.trace(h.sum())
    placed = layered_layout(scene_of(graph))
    boxes = list(placed.nodes.values())
    lanes = 0
    for e in placed.edges:
        waypoints = e.points[::3]
        for (x0, y0), (x1, y1) in zip(waypoints, waypoints[1:]):
            if x0 != x1 or y0 == y1:
                continue
            lanes += 1  # a vertical piece through a layer: no box may stand there
            for b in boxes:
                left, top, w, h_ = b.rect
                assert not (left < x0 < left + w and y0 < b.y < y1), (e.src, e.dst, b.key)
    assert lanes >= 8
    adds = [b.x for k, b in placed.nodes.items() if graph.cols.op[k] == "AddBackward0"]
    assert max(adds) - min(adds) < 10  # no drift from block to block


def test_folding_a_module_that_is_not_contiguous_still_lays_out(alternating):
    folded = module_key("a")
    placed = layered_layout(scene_of(alternating, {"a"}))  # a -> relu -> b.i -> a
    assert folded in placed.nodes and len(placed.nodes) == 52  # a, b's 40, 10 relus, the sum
    upward = [e for e in placed.edges if placed.nodes[e.src].y > placed.nodes[e.dst].y]
    assert upward  # the edges that close the cycle
    for e in upward:  # run upward, arrow on the bottom of their target
        target = placed.nodes[e.dst]
        assert e.arrow[1] == (target.x, target.y + target.height / 2)


def test_edges_from_one_source_share_one_trunk():
    """A weight read by every op of a 300-long chain (tied or shared weights): one dummy per
    layer its trunk crosses, not one per edge per layer (about 45,000)."""
    from gradviz.layout.layered import _with_lanes

    n = 301
    edges = [(i, i + 1) for i in range(1, 300)] + [(0, i) for i in range(2, 301)]
    layer = list(range(n))
    _, _, layers, spans, trunks = _with_lanes(n, edges, layer)
    assert len(layers) - n == 299
    for (a, b), lanes in zip(edges, spans):
        chain = [a, *trunks[a][:lanes], b]
        assert [layers[v] for v in chain] == list(range(layers[a], layers[b] + 1))


def test_a_shared_weight_over_a_deep_chain_runs_straight_down_beside_it():
    w = torch.randn(3, 3, requires_grad=True)
    h = torch.randn(2, 3)
    for _ in range(800):
        h = torch.tanh(h @ w)
    graph = gradviz.trace(h.sum())
    placed = layered_layout(scene_of(graph))
    reads = [e for e in placed.edges if e.src == graph.find("w").id]
    assert len(reads) == 800
    for e in reads:  # to its reader, through a straight trunk: a few segments, not 800s
        assert e.arrow[1][1] == pytest.approx(placed.nodes[e.dst].y - placed.nodes[e.dst].height / 2)
        assert len(e.points) <= 13


def test_an_edge_longer_than_graphviz_reads_in_one_string_still_renders():
    """A trunk that steps aside in crowded rows keeps its points: thousands of them, more
    than the 16,384 characters Graphviz reads in one quoted string."""
    import io

    from PIL import Image

    from gradviz.layout.geometry import EdgePath, Layout, NodeBox
    from gradviz.layout.render import render

    a = NodeBox(0, 50, 10, 40, 20, ["a"], "op")
    b = NodeBox(1, 50, 6010, 40, 20, ["b"], "op")
    points = [(50 + 20 * (i % 2), 20 + i * 2.0) for i in range(3 * 1000 + 1)]
    edge = EdgePath(0, 1, points, arrow=((50, 6000), (50, 6000)))
    assert len(" ".join(f"{x:.2f},{y:.2f}" for x, y in points)) > 16384
    placed = Layout({0: a, 1: b}, [edge], [], 100, 6020)
    png = render(placed, "png", scale=0.1)
    assert Image.open(io.BytesIO(png)).size[1] > 0


def test_a_weight_read_by_every_layer_goes_to_the_layered_layout_even_when_small(seed):
    """dot would add one dummy vertex per read per layer crossed (minutes at 1,000 nodes)."""
    from gradviz.layout import strategy
    from gradviz.layout.layered import crossings_of_layers

    w = torch.randn(3, 3, requires_grad=True)
    h = torch.randn(2, 3)
    for _ in range(100):
        h = torch.tanh(h @ w)
    tied = scene_of(gradviz.trace(h.sum()))
    assert len(tied.nodes) < strategy.DOT_UP_TO
    assert crossings_of_layers(tied) > strategy.DOT_WORK_UP_TO
    assert strategy.choose(tied)[0] == "layered"
    assert strategy.choose(scene_of(seed))[0] == "dot"
