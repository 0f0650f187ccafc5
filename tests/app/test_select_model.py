"""The Qt-free model functions behind selection, search and the summary (gradviz.core.select)."""

from gradviz.core.collapse import view
from gradviz.core.select import (downstream, first_nonfinite, incident, reachable, summary,
                                 upstream, visible_key)


def test_upstream_downstream_and_incident(seed_graph):
    g = seed_graph
    z, s, x, w = (g.find(n).id for n in ("Z", "S", "X", "W"))
    assert downstream(g, z) == {s}
    assert {x, w} <= upstream(g, z) and s not in upstream(g, z)
    edges = [(a, b) for a, b, _ in g.edges]
    assert sorted(edges[i] for i in incident(edges, z)) == sorted(e for e in edges if z in e)
    assert reachable(edges, s, forward=True) == set()


def test_summary_and_first_nonfinite(seed_graph):
    s = summary(seed_graph)
    assert s["kinds"] == {"leaf": 3, "op": 3, "output": 1}
    assert s["status"] == "gradients captured" and s["ops"]["AccumulateGrad"] == 3
    assert first_nonfinite(seed_graph) is None


def test_visible_key_maps_into_collapsed_modules(seed_graph):
    seed_graph.cols.module[1] = "block.linear"
    plain = view(seed_graph).key_of
    assert visible_key(plain, {0, 1}, 1) == 1
    folded = view(seed_graph, frozenset({"block"})).key_of
    assert visible_key(folded, {0, "module:block"}, 1) == "module:block"
    assert visible_key(folded, {0}, 1) is None


def test_a_parent_op_drawn_inside_a_folded_box_is_found_there(interrupted):
    g = interrupted
    relus = [n.id for n in g.nodes if n.op == "ReluBackward0"]
    assert all(g.cols.module[r] in (None, "") for r in relus[1:])  # the parent's own ops
    shown = view(g, frozenset({"layers"}))
    inner = [r for r in relus if shown.key_of[r] == "module:layers"]
    assert inner  # the relus between layers are drawn in the box
    for r in inner:
        assert visible_key(shown.key_of, set(shown.keys), r) == "module:layers"
