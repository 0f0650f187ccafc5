"""A layered layout of our own: for when ``dot`` is missing, and for graphs too big for it.

``dot`` grows roughly quadratically (26 s for a 6,000-node transformer, hours at 100,000);
this is linear up to a few sorting passes: 100,000 nodes in seconds. It follows dot's
recipe in its cheapest form, so the picture reads the same way (data flows downward):

1. layers: networkx' topological generations of the reversed graph (longest path down to
   an output), so a parameter sits just above the op that uses it instead of at the top of
   a long edge;
2. order within a layer: two barycenter sweeps (down, then up), which removes most
   crossings of a chain-like computation graph;
3. x: each vertex wants the mean x of its neighbours in the layer before (a down pass, then
   an up pass); boxes get their wish first, then edge lanes, keeping the spacing (the
   priority method), so the main chain of a deep network stays straight;
4. edges: an edge that spans several layers runs through a thin dummy vertex in each layer
   it crosses (as in dot), so the sweeps and the placement give it its own lane and it
   never cuts through a box; it is drawn as cubic Beziers through those lanes. Clusters are
   the boxes around their members and may overlap where modules share a layer.
"""

from __future__ import annotations

import bisect

import networkx as nx

from gradviz.core.contiguous import topological
from gradviz.core.keys import BoxKind

from .drawspec import ARROW_LENGTH, FONTSIZE
from .geometry import ClusterBox, Layout
from .graphviz_errors import Cancelled
from .scene import Scene
from .textsize import text_size

NODESEP, RANKSEP, MARGIN, ARROW = 18.0, 25.0, 8.0, ARROW_LENGTH
LANE = 4.0  # width of an edge's dummy vertex: edges pass each other NODESEP apart


def box_size(lines: list[str], shape: str) -> tuple[float, float]:
    """What dot would make of this label: the text as measured for dot itself
    (:mod:`.textsize`), with dot's default margins."""
    text_width, text_height = text_size(lines, FONTSIZE)
    width = max(text_width, 8) + 16
    height = max(text_height + 8, 22)
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


def _place(row: list[int], want: dict, widths: list[float], rank: list[int]) -> list[float]:
    """x for each vertex of a row, in its order: vertices of higher ``rank`` first get as
    close to ``want`` (None: anywhere) as the vertices already placed allow (the priority
    method). Boxes keep their wish before lanes do, so long edges step aside for the main
    chain instead of pushing it a little further sideways in every layer."""
    n = len(row)
    reach = [0.0] * n  # least distance from the row's first vertex, spacing kept
    for i in range(1, n):
        reach[i] = reach[i - 1] + (widths[row[i - 1]] + widths[row[i]]) / 2 + NODESEP
    x: list[float] = [0.0] * n
    placed: list[int] = []
    for i in sorted(range(n), key=lambda i: (want[row[i]] is None, -rank[row[i]], i)):
        at = bisect.bisect(placed, i)
        lo = x[placed[at - 1]] + reach[i] - reach[placed[at - 1]] if at else float("-inf")
        hi = x[placed[at]] - (reach[placed[at]] - reach[i]) if at < len(placed) else float("inf")
        wish = want[row[i]]
        if wish is None:
            wish = lo if at else (hi if placed else 0.0)
        x[i] = min(max(wish, lo), hi)
        placed.insert(at, i)
    return x


def _depths(pred: list[list[int]], rows: list[list[int]]) -> list[int]:
    """Longest path from an input to each vertex: high on the main chain of a network, low
    on a side branch such as a weight and its transpose."""
    depth = [0] * len(pred)
    for row in rows:
        for v in row:
            if pred[v]:
                depth[v] = 1 + max(depth[u] for u in pred[v])
    return depth


def _coordinates(rows, pred, succ, widths, boxes: int) -> list[float]:
    """x of every vertex (``boxes`` first, then lanes): a down pass, then an up pass.
    Where wishes collide, boxes beat lanes and the deeper box (the main chain) beats the
    side branch, which steps aside."""
    depth = _depths(pred, rows)
    rank = [depth[v] + (len(pred) if v < boxes else 0) for v in range(len(widths))]
    x = [0.0] * len(widths)

    def wish(v, neighbours):
        # Lanes do not pull a box that has box neighbours: a residual edge beside a block
        # must not drag the next block sideways, or a deep network drifts across the page.
        # A lane follows its own edge's lanes, not the boxes a trunk branches into, so a
        # shared weight's trunk runs straight down instead of zigzagging to each reader.
        if v < boxes:
            nb = [u for u in neighbours[v] if u < boxes] or neighbours[v]
        else:
            nb = [u for u in neighbours[v] if u >= boxes] or neighbours[v]
        if not nb:
            return x[v] if neighbours is succ else None
        return sum(x[u] for u in nb) / len(nb)

    for neighbours, order in ((pred, range(len(rows))), (succ, range(len(rows) - 1, -1, -1))):
        for r in order:
            row = rows[r]
            want = {v: wish(v, neighbours) for v in row}
            for v, xv in zip(row, _place(row, want, widths, rank)):
                x[v] = xv
    return x


def _with_lanes(n: int, edges: list[tuple[int, int]], layer: list[int]):
    """Neighbour lists in which every edge spanning more than one layer runs through a
    dummy vertex (ids ``n`` and up) in each layer between its ends; per edge, how many
    dummies it runs through (the first ones of its source's trunk); the trunks.

    Long edges from one source share one trunk of dummies (dot's ``concentrate``): a weight
    shared by every layer of a deep model (tied, ALBERT-like, an unrolled RNN cell) is one
    line down the page with a branch into each op that reads it, not one lane per use in
    every layer it crosses, which made the layers thousands of lanes wide (the app's first
    paint of a 5,000-node shared-weight transformer took 48 s; 2.6 s with trunks)."""
    layer = list(layer)
    succ: list[list[int]] = [[] for _ in range(n)]
    pred: list[list[int]] = [[] for _ in range(n)]
    trunks: dict[int, list[int]] = {}  # source -> its dummies, one per layer below it
    linked: set[tuple[int, int]] = set()
    spans: list[int] = []
    for a, b in edges:
        trunk = trunks.setdefault(a, [])
        while layer[a] + 1 + len(trunk) < layer[b]:  # the trunk grows down, linked as it grows
            above = trunk[-1] if trunk else a
            trunk.append(len(layer))
            layer.append(layer[a] + len(trunk))
            succ.append([])
            pred.append([above])
            succ[above].append(trunk[-1])
        lanes = layer[b] - layer[a] - 1
        last = trunk[lanes - 1] if lanes else a
        if (last, b) not in linked:  # the branch off the trunk into b
            linked.add((last, b))
            succ[last].append(b)
            pred[b].append(last)
        spans.append(lanes)
    return succ, pred, layer, spans, trunks


def _acyclic(n: int, edges: list[tuple[int, int]]):
    """The edges to lay out, those that close a cycle turned around (only folding a module
    that is not contiguous makes one, and dot does the same), and which were turned."""
    succ: dict = {v: [] for v in range(n)}
    for a, b in edges:
        succ[a].append(b)
    order = topological(range(n), succ)
    turned = [order[a] > order[b] for a, b in edges]
    return [(b, a) if t else (a, b) for (a, b), t in zip(edges, turned)], turned


def _through(lanes: list[tuple[float, float, float]]) -> tuple[list, list[int]]:
    """Waypoints down a trunk's lanes (x, top, height), a straight run as one segment, and
    for each lane the index of the waypoint where it ends: every edge of the trunk takes a
    prefix, so a trunk is walked once, not once per edge that branches off it."""
    points: list[tuple[float, float]] = []
    ends: list[int] = []
    for x, top, tall in lanes:
        if len(points) > 1 and abs(points[-1][0] - x) < 0.5 and abs(points[-2][0] - x) < 0.5:
            points[-1] = (points[-1][0], top + tall)
        else:
            points += [(x, top), (x, top + tall)]
        ends.append(len(points) - 1)
    return points, ends


def _route(upper, lower, middle: list[tuple[float, float]], back: bool):
    """Curve from the box above to the box below through the waypoints of its lanes; an
    edge that was turned around runs upward, its arrow on the upper box."""
    waypoints = [(upper.x, upper.y + upper.height / 2), *middle]
    if back:
        waypoints.append((lower.x, lower.y - lower.height / 2))
        waypoints.reverse()
        waypoints[-1] = (upper.x, upper.y + upper.height / 2 + ARROW)
        return _curve(waypoints, (upper.x, upper.y + upper.height / 2))
    waypoints.append((lower.x, lower.y - lower.height / 2 - ARROW))
    return _curve(waypoints, (lower.x, lower.y - lower.height / 2))


def _curve(waypoints: list[tuple[float, float]], tip: tuple[float, float]):
    """Bezier control points through ``waypoints`` with vertical tangents, then the arrow."""
    points = [waypoints[0]]
    for (x0, y0), (x1, y1) in zip(waypoints, waypoints[1:]):
        half = (y1 - y0) / 2
        points += [(x0, y0 + half), (x1, y1 - half), (x1, y1)]
    return points, (waypoints[-1], tip)


def _ranked(scene: Scene):
    """(keys, edges by index, which were turned around, layer of each node)."""
    keys = list(scene.nodes)
    index = {k: i for i, k in enumerate(keys)}
    n = len(keys)
    edges, turned = _acyclic(n, [(index[e.src], index[e.dst]) for e in scene.edges])
    direct: list[list[int]] = [[] for _ in range(n)]
    for a, b in edges:
        direct[a].append(b)
    return keys, edges, turned, _layers(n, direct)


def crossings_of_layers(scene: Scene) -> int:
    """How many layers the edges cross in all: the dummy vertices ``dot`` adds, one per edge
    per layer crossed. Under 1 per node in an ordinary network; 60-90 per node when one
    weight is read by every layer (tied weights), where dot takes minutes on 1,000 nodes."""
    _, edges, _, layer = _ranked(scene)
    return sum(layer[b] - layer[a] - 1 for a, b in edges)


def layered_layout(scene: Scene, should_stop=None) -> Layout:
    keys, edges, turned, layer = _ranked(scene)
    n = len(keys)
    succ, pred, layer, spans, trunks = _with_lanes(n, edges, layer)
    sizes = [(b.width, b.height) if b.kind == BoxKind.BLOCK else box_size(b.lines, b.shape)
             for b in (scene.nodes[k] for k in keys)]
    sizes += [(LANE, 0.0)] * (len(layer) - n)
    widths = [s[0] for s in sizes]

    rows: list[list[int]] = [[] for _ in range(max(layer, default=-1) + 1)]
    for v, depth in enumerate(layer):
        rows[depth].append(v)
    _sweep(rows, pred, range(len(rows)))
    _sweep(rows, succ, range(len(rows) - 1, -1, -1))
    if should_stop is not None and should_stop():
        raise Cancelled("layout cancelled")
    x = _coordinates(rows, pred, succ, widths, n)

    tops, y = [], MARGIN
    for row in rows:
        tall = max(sizes[v][1] for v in row)
        tops.append((y, tall))
        y += tall + RANKSEP
    shift = MARGIN - min((x[v] - widths[v] / 2 for v in range(len(x))), default=0.0)
    nodes = dict(scene.nodes)
    for v, key in enumerate(keys):
        top, tall = tops[layer[v]]
        box = nodes[key]
        box.x, box.y, box.width, box.height = x[v] + shift, top + tall / 2, widths[v], sizes[v][1]
    runs = {a: _through([(x[d] + shift, *tops[layer[d]]) for d in trunk])
            for a, trunk in trunks.items() if trunk}
    for e, (a, _), lanes, back in zip(scene.edges, edges, spans, turned):
        middle = []
        if lanes:  # a prefix of its source's trunk, ending at the bottom of its last lane
            points, ends = runs[a]
            middle = points[:ends[lanes - 1] + 1]
            top, tall = tops[layer[trunks[a][lanes - 1]]]
            middle[-1] = (middle[-1][0], top + tall)
        upper, lower = (nodes[e.dst], nodes[e.src]) if back else (nodes[e.src], nodes[e.dst])
        e.points, e.arrow = _route(upper, lower, middle, back)
    width = max((x[v] + widths[v] / 2 for v in range(len(x))), default=0.0) + shift + MARGIN
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
        boxes.setdefault(scene.parents[path], []).append(bounds[path])
    return sorted((ClusterBox(p, b[0], b[1], b[2] - b[0], b[3] - b[1], p, scene.clusters[p])
                   for p, b in bounds.items()), key=lambda c: (c.depth, c.path))
