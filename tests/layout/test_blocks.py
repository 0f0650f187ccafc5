"""One layout per distinct structure: repeated blocks laid out once, placed many times."""

import pytest

import gradviz.layout as layout_module
from gradviz.core.collapse import module_key
from gradviz.layout import blocks, cache, clusters, layout, scene_of


@pytest.fixture(autouse=True)
def reuse_small_graphs(monkeypatch):
    monkeypatch.setattr(clusters, "ONE_DOT_RUN_BELOW", 50)
    cache._store.clear()
    yield
    cache._store.clear()


def overlap(a, b) -> bool:
    (ax, ay, aw, ah), (bx, by, bw, bh) = a, b
    return ax < bx + bw and bx < ax + aw and ay < by + bh and by < ay + ah


def test_each_distinct_block_is_laid_out_once(stacked, monkeypatch):
    found = blocks.find_blocks(scene_of(stacked))
    assert sorted(b.path for b in found) == sorted(f"blocks.{i}" for i in range(13))
    # blocks.0-9 and blocks.10-12 differ only in the width of their names
    assert len({b.signature for b in found}) == 2
    runs = []
    real = layout_module.run_graphviz
    monkeypatch.setattr(layout_module, "run_graphviz",
                        lambda *a, **k: runs.append(1) or real(*a, **k))
    placed = layout(stacked)
    assert placed.engine == "dot+blocks" and len(runs) == 3  # two blocks and the top graph


def test_the_picture_of_reused_blocks_is_whole_and_nothing_overlaps(stacked):
    placed = layout(stacked)
    assert set(placed.nodes) == set(scene_of(stacked).nodes)
    assert {(e.src, e.dst) for e in placed.edges} == {(e.src, e.dst)
                                                      for e in scene_of(stacked).edges}
    boxes = list(placed.nodes.values())
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert not overlap(a.rect, b.rect), (a.key, b.key)
    outlines = {c.path: c for c in placed.clusters}
    for i in range(13):
        path = f"blocks.{i}"
        c = outlines[path]
        assert c.label == path and f"{path}.fc" in outlines
        for node in placed.nodes.values():
            inside = node.cluster == path or (node.cluster or "").startswith(path + ".")
            within = c.x <= node.x <= c.x + c.width and c.y <= node.y <= c.y + c.height
            assert inside == within, (node.key, path)
    for i in range(12):
        a, b = outlines[f"blocks.{i}"], outlines[f"blocks.{i + 1}"]
        assert not overlap((a.x, a.y, a.width, a.height), (b.x, b.y, b.width, b.height))


def test_every_edge_runs_from_its_source_to_an_arrow_on_its_target(stacked):
    placed = layout(stacked)
    for e in placed.edges:
        assert len(e.points) % 3 == 1
        left, top, w, h = placed.nodes[e.src].rect
        x, y = e.points[0]
        assert left - 1 <= x <= left + w + 1 and top - 1 <= y <= top + h + 1, (e.src, e.dst)
        base, tip = e.arrow
        left, top, w, h = placed.nodes[e.dst].rect
        assert left - 1 <= tip[0] <= left + w + 1 and top - 1 <= tip[1] <= top + h + 1
        assert e.points[-1] == base


def test_small_graphs_and_collapsed_blocks_are_laid_out_whole(stacked, monkeypatch):
    assert blocks.find_blocks(scene_of(stacked, {f"blocks.{i}" for i in range(13)})) == []
    monkeypatch.setattr(clusters, "ONE_DOT_RUN_BELOW", 300)
    assert blocks.find_blocks(scene_of(stacked)) == []
    assert layout(stacked).engine == "dot"
    assert module_key("blocks.0") not in layout(stacked).nodes
