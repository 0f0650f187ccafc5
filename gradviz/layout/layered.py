"""A layered layout of our own: for when ``dot`` is missing, and for graphs too big for it.

``dot`` grows roughly quadratically (26 s for a 6,000-node transformer, hours at 100,000);
this is linear up to a few sorting passes: 100,000 nodes in seconds. It follows dot's
recipe in its cheapest form, so the picture reads the same way (data flows downward):

1. layers: networkx' topological generations of the reversed graph (longest path down to
   an output), so a parameter sits just above the op that uses it instead of at the top of
   a long edge;
2. order within a layer: two barycenter sweeps (down, then up), which removes most
   crossings of a chain-like computation graph;
3. x: each node wants the mean x of its neighbours in the previous layer; a left-packed and
   a right-packed placement that keep the node spacing are averaged, which keeps both the
   spacing and the wish as well as possible;
4. edges: one cubic Bezier per edge, straight down when the ends are aligned. Edges are not
   routed around nodes (that is what costs dot its time); clusters are the boxes around
   their members and may overlap where modules share a layer.
"""

from __future__ import annotations

import networkx as nx

from .dotsource import FONTSIZE
from .geometry import ClusterBox, EdgePath, Layout
from .scene import Scene

NODESEP, RANKSEP, MARGIN, ARROW = 18.0, 25.0, 8.0, 7.0
CHAR_WIDTH = FONTSIZE * 0.6
LINE_HEIGHT = FONTSIZE * 1.25


def box_size(lines: list[str], shape: str) -> tuple[float, float]:
    """An estimate of what dot would make of this label (Helvetica, dot's default margins)."""
    width = max((len(line) for line in lines), default=1) * CHAR_WIDTH + 16
    height = max(len(lines) * LINE_HEIGHT + 8, 22)
    if shape == "ellipse" or shape == "octagon":
        width, height = width * 1.3, height * 1.2
    return width, height


def _layers(n: int, succ: list[list[int]]) -> list[int]:
    """Layer of each node, counted from the top: as late as possible, i.e. by the longest
    path down to an output, so every input and every side branch (a weight and its
    transpose) sits just above the op that consumes it instead of at the top."""
    g = nx.DiGraph()
    g.add_nodes_from(range(n))
    g.add_edges_from((b, a) for a in range(n) for b in succ[a])  # reversed: outputs first
    layer = [0] * n
    deepest = 0
    for depth, generation in enumerate(nx.topological_generations(g)):
        deepest = depth
        for v in generation:
            layer[v] = depth
    return [deepest - x for x in layer]


def _sweep(rows: list[list[int]], neighbours: list[list[int]], order) -> None:
    """Sort each row by the mean position of its neighbours in the row before."""
    pos = [0.0] * len(neighbours)
    for row in order:
        for i, v in enumerate(rows[row]):
            nb = neighbours[v]
            pos[v] = sum(pos[u] for u in nb) / len(nb) if nb else i
        rows[row].sort(key=pos.__getitem__)
        for i, v in enumerate(rows[row]):
            pos[v] = i


def _place(row: list[int], want: list, widths: list[float]) -> list[float]:
    """x for each node of a row: as close to ``want`` (None: anywhere) as spacing allows."""
    n = len(row)
    left, right = [0.0] * n, [0.0] * n
    for i, v in enumerate(row):
        gap = (widths[row[i - 1]] + widths[v]) / 2 + NODESEP if i else 0.0
        floor = left[i - 1] + gap if i else float("-inf")
        left[i] = max(want[v], floor) if want[v] is not None else (floor if i else 0.0)
    for i in range(n - 1, -1, -1):
        v = row[i]
        gap = (widths[row[i + 1]] + widths[v]) / 2 + NODESEP if i < n - 1 else 0.0
        ceil = right[i + 1] - gap if i < n - 1 else float("inf")
        right[i] = min(want[v], ceil) if want[v] is not None else (ceil if i < n - 1 else left[i])
    return [(a + b) / 2 for a, b in zip(left, right)]


def _coordinates(rows, pred, succ, widths) -> list[float]:
    x = [0.0] * len(widths)
    for neighbours, order in ((pred, range(len(rows))), (succ, range(len(rows) - 1, -1, -1))):
        for r in order:
            row = rows[r]
            want = {v: (sum(x[u] for u in neighbours[v]) / len(neighbours[v])
                        if neighbours[v] else (x[v] if neighbours is succ else None)) for v in row}
            for v, xv in zip(row, _place(row, want, widths)):
                x[v] = xv
    return x


def _edge(x0, y0, x1, y1) -> tuple[list, tuple]:
    dy = max(y1 - y0, 1.0)
    base = (x1, y1 - ARROW)
    points = [(x0, y0), (x0, y0 + dy * 0.4), (x1, base[1] - dy * 0.3), base]
    return points, (base, (x1, y1))


def layered_layout(scene: Scene, should_stop=None) -> Layout:
    keys = list(scene.nodes)
    index = {k: i for i, k in enumerate(keys)}
    n = len(keys)
    succ: list[list[int]] = [[] for _ in range(n)]
    pred: list[list[int]] = [[] for _ in range(n)]
    for e in scene.edges:
        a, b = index[e.src], index[e.dst]
        succ[a].append(b)
        pred[b].append(a)
    sizes = [box_size(scene.nodes[k].lines, scene.nodes[k].shape) for k in keys]
    widths = [s[0] for s in sizes]

    layer = _layers(n, succ)
    rows: list[list[int]] = [[] for _ in range(max(layer, default=-1) + 1)]
    for v in range(n):
        rows[layer[v]].append(v)
    _sweep(rows, pred, range(len(rows)))
    _sweep(rows, succ, range(len(rows) - 1, -1, -1))
    if should_stop is not None and should_stop():
        from .graphviz_run import Cancelled

        raise Cancelled("layout cancelled")
    x = _coordinates(rows, pred, succ, widths)

    tops, y = [], MARGIN
    for row in rows:
        tall = max(sizes[v][1] for v in row)
        tops.append((y, tall))
        y += tall + RANKSEP
    shift = MARGIN - min((x[v] - widths[v] / 2 for v in range(n)), default=0.0)
    nodes = dict(scene.nodes)
    for v, key in enumerate(keys):
        top, tall = tops[layer[v]]
        box = nodes[key]
        box.x, box.y, box.width, box.height = x[v] + shift, top + tall / 2, widths[v], sizes[v][1]
    for e in scene.edges:
        a, b = nodes[e.src], nodes[e.dst]
        e.points, e.arrow = _edge(a.x, a.y + a.height / 2, b.x, b.y - b.height / 2)
    width = max((b.x + b.width / 2 for b in nodes.values()), default=0.0) + MARGIN
    return Layout(nodes, list(scene.edges), _clusters(scene, nodes), width, y - RANKSEP + MARGIN,
                  "layered", legend=list(scene.legend))


def _clusters(scene: Scene, nodes: dict) -> list[ClusterBox]:
    """Each module's box: around its members, with room for its title."""
    boxes: dict[str | None, list[tuple]] = {}
    for b in nodes.values():
        boxes.setdefault(b.cluster, []).append(
            (b.x - b.width / 2, b.y - b.height / 2, b.x + b.width / 2, b.y + b.height / 2))
    bounds: dict[str, tuple] = {}
    pad = 6.0
    for path in sorted(scene.clusters, key=lambda p: -scene.clusters[p]):  # innermost first
        inner = boxes.get(path)
        if not inner:
            continue
        bounds[path] = (min(b[0] for b in inner) - pad, min(b[1] for b in inner) - pad - 12,
                        max(b[2] for b in inner) + pad, max(b[3] for b in inner) + pad)
        boxes.setdefault(path.rpartition(".")[0] or None, []).append(bounds[path])
    return sorted((ClusterBox(p, b[0], b[1], b[2] - b[0], b[3] - b[1], p, scene.clusters[p])
                   for p, b in bounds.items()), key=lambda c: (c.depth, c.path))
