"""The Qt-free model functions behind selection, search and the summary (gradviz.core.select)."""

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
    assert visible_key(seed_graph, {0, 1}, 1) == 1
    assert visible_key(seed_graph, {0, "module:block"}, 1) == "module:block"
    assert visible_key(seed_graph, {0}, 1) is None
