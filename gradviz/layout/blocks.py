"""One layout per distinct structure: a transformer's blocks are the same subgraph many
times over, so one block is laid out and its geometry translated for every copy.

A block is a drawn module box (a contiguous module, see :mod:`.clusters`) whose structure
repeats at least :data:`MIN_REPEATS` times: the same boxes (shape and size, in member order),
the same edges between them, the same pattern of edges in and out. Member order is node id
order, which the walk gives every copy of a block alike. Sizes, not texts, are compared:
``blocks.3.qkv.weight`` and ``blocks.4.qkv.weight`` take the same room.

1. Each distinct block is laid out once, by itself, with a stub node per outside source on
   its top row and per outgoing node on its bottom row (``rank=min`` / ``max``), so edges
   enter from above and leave below as they will in the picture.
2. The graph with each block replaced by one box of its laid-out size (the "top" graph,
   a few hundred nodes for a 100,000-node transformer) is laid out like any graph.
3. Each block's geometry is translated onto its box; an edge that crosses a block's border
   is the top graph's curve joined to the block's own curve from or to its stub.

Below :data:`.clusters.ONE_DOT_RUN_BELOW` visible nodes one ``dot`` run costs no more than
this does.
"""

from __future__ import annotations

from dataclasses import dataclass

from gradviz.core.keys import BoxKind, module_key
from gradviz.core.contiguous import within
from gradviz.core.runs import wiring

from . import clusters as cluster_rules
from .drawspec import FONTSIZE
from .geometry import ClusterBox, EdgePath, Layout, NodeBox
from .scene import Scene
from .textsize import text_size

MIN_REPEATS = 3
MIN_MEMBERS = 8  # smaller blocks save less than the joining costs


@dataclass
class Block:
    path: str
    keys: list  # members, in node id order
    sources: list  # outside keys with an edge into the block, in order of first use
    exits: list  # indices of members with an edge out of the block
    signature: tuple


def _order(key) -> tuple:
    return (1, key) if isinstance(key, str) else (0, key)


def _within(scene: Scene, cluster: str | None, paths: set) -> bool:
    """Whether ``cluster`` or a drawn module around it is one of ``paths``."""
    while cluster is not None:
        if cluster in paths:
            return True
        cluster = scene.parents[cluster]
    return False


def _block(scene: Scene, path: str, keys: list, succ: dict, pred: dict) -> Block:
    wired = wiring(keys, succ, pred)
    boxes = tuple((b.shape, b.kind, text_size(b.lines, FONTSIZE), b.cluster[len(path):])
                  for b in (scene.nodes[k] for k in keys))
    signature = (boxes, tuple(sorted(wired.inner)), tuple(sorted(wired.entries)),
                 tuple(wired.exits))
    return Block(path, keys, wired.sources, wired.exits, signature)


def find_blocks(scene: Scene) -> list[Block]:
    """The outermost repeated blocks of ``scene``, or [] when reuse would not pay."""
    if len(scene.nodes) < cluster_rules.ONE_DOT_RUN_BELOW:
        return []
    members: dict[str, list] = {path: [] for path in scene.clusters}
    for key in sorted(scene.nodes, key=_order):
        cluster = scene.nodes[key].cluster
        while cluster is not None:
            members[cluster].append(key)
            cluster = scene.parents[cluster]
    succ: dict = {}
    pred: dict = {}
    for e in scene.edges:
        succ.setdefault(e.src, []).append(e.dst)
        pred.setdefault(e.dst, []).append(e.src)
    groups: dict[tuple, list[Block]] = {}
    for path, keys in members.items():
        if len(keys) >= MIN_MEMBERS:
            block = _block(scene, path, keys, succ, pred)
            groups.setdefault(block.signature, []).append(block)
    repeated = sorted((b for g in groups.values() if len(g) >= MIN_REPEATS for b in g),
                      key=lambda b: (scene.clusters[b.path], b.path))
    chosen: list[Block] = []
    taken: set = set()
    for b in repeated:  # outermost first; a block inside a chosen one is already reused
        if not _within(scene, b.path, taken):
            chosen.append(b)
            taken.add(b.path)
    return chosen


def _stub(i: int) -> int:
    """Stub keys are negative ints: they never clash with node ids, and DOT names them."""
    return -1 - i


def _block_scene(scene: Scene, block: Block) -> tuple[Scene, dict]:
    """The block alone with its stubs, and which stubs to pin on the top and bottom rows."""
    nodes = {}
    for k in block.keys:
        b = scene.nodes[k]
        nodes[k] = NodeBox(k, 0, 0, 0, 0, b.lines, b.kind, b.shape, cluster=b.cluster)
    ins = [_stub(i) for i in range(len(block.sources))]
    outs = [_stub(len(ins) + j) for j in range(len(block.exits))]
    for s in ins + outs:
        nodes[s] = NodeBox(s, 0, 0, 0, 0, [], BoxKind.STUB, "point", cluster=block.path)
    edges = [EdgePath(a, b, []) for a, b in
             ((block.keys[i], block.keys[j]) for i, j in block.signature[1])]
    edges += [EdgePath(ins[slot], block.keys[i], []) for slot, i in block.signature[2]]
    edges += [EdgePath(block.keys[i], s, []) for i, s in zip(block.exits, outs)]
    clusters = {p: d for p, d in scene.clusters.items() if within(p, block.path)}
    parents = {p: (scene.parents[p] if p != block.path else None) for p in clusters}
    return Scene(nodes, edges, clusters, parents, []), {block.path: (ins, outs)}


def _top_scene(scene: Scene, blocks: list[Block], sizes: dict) -> tuple[Scene, dict]:
    """``scene`` with each block as one box of its size, where its first member was; and each
    key's key in it."""
    top_of = {k: k for k in scene.nodes}
    boxes = {}
    for b in blocks:
        key = module_key(b.path)
        width, height = sizes[b.signature]
        boxes[key] = NodeBox(key, 0, 0, width, height, [], BoxKind.BLOCK, "box",
                             cluster=scene.parents[b.path])
        for k in b.keys:
            top_of[k] = key
    nodes = {}
    for k, box in scene.nodes.items():
        nodes[top_of[k]] = box if top_of[k] == k else boxes[top_of[k]]
    pairs = sorted({(top_of[e.src], top_of[e.dst]) for e in scene.edges
                    if top_of[e.src] != top_of[e.dst]}, key=lambda p: tuple(map(_order, p)))
    paths = {b.path for b in blocks}
    clusters = {p: d for p, d in scene.clusters.items() if not _within(scene, p, paths)}
    parents = {p: scene.parents[p] for p in clusters}
    return Scene(nodes, [EdgePath(a, b, []) for a, b in pairs], clusters, parents, []), top_of


def _line(a, b) -> list:
    """A straight cubic piece from ``a`` to ``b``, without ``a``."""
    (ax, ay), (bx, by) = a, b
    return [(ax + (bx - ax) / 3, ay + (by - ay) / 3), (ax + 2 * (bx - ax) / 3,
                                                       ay + 2 * (by - ay) / 3), b]


def _joined(pieces: list[list]) -> list:
    """Curves end to end, each joined to the next by a straight piece."""
    points = list(pieces[0])
    for piece in pieces[1:]:
        points += _line(points[-1], piece[0]) + list(piece[1:])
    return points


def block_layout(scene: Scene, blocks: list[Block], lay) -> Layout:
    """Positions for ``scene`` from one layout per distinct block; ``lay(scene, pinned)`` lays
    out a scene (dot or layered) and returns its Layout."""
    shapes: dict[tuple, tuple] = {}  # signature -> (representative, its layout, outline, curves)
    for b in blocks:
        if b.signature not in shapes:
            sub, pinned = _block_scene(scene, b)
            placed = lay(sub, pinned)
            outline = next(c for c in placed.clusters if c.path == b.path)
            shapes[b.signature] = (b, placed, outline, {(e.src, e.dst): e for e in placed.edges})
    sizes = {sig: (o.width, o.height) for sig, (_, _, o, _) in shapes.items()}
    top, top_of = _top_scene(scene, blocks, sizes)
    placed_top = lay(top, None)
    curves = {(e.src, e.dst): e for e in placed_top.edges}

    clusters = list(placed_top.clusters)
    where: dict = {}  # member key -> (block, representative, its key there, curves, dx, dy, box)
    for b in blocks:
        rep, placed, outline, own = shapes[b.signature]
        box = placed_top.nodes[module_key(b.path)]
        dx, dy = box.x - box.width / 2 - outline.x, box.y - box.height / 2 - outline.y
        for k, r in zip(b.keys, rep.keys):
            node, src = scene.nodes[k], placed.nodes[r]
            node.x, node.y, node.width, node.height = src.x + dx, src.y + dy, src.width, src.height
            where[k] = (b, rep, r, own, dx, dy, box)
        for c in placed.clusters:
            path = b.path + c.path[len(rep.path):]
            clusters.append(ClusterBox(path, c.x + dx, c.y + dy, c.width, c.height, path,
                                       scene.clusters[path]))
    for e in scene.edges:
        e.points, e.arrow = _route(e, where, curves, top_of)
    clusters.sort(key=lambda c: (c.depth, c.path))
    warnings = placed_top.warnings + [w for _, p, _, _ in shapes.values() for w in p.warnings]
    return Layout(dict(scene.nodes), list(scene.edges), clusters, placed_top.width,
                  placed_top.height, f"{placed_top.engine}+blocks", list(dict.fromkeys(warnings)),
                  list(scene.legend))


def _moved(points, dx: float, dy: float) -> list:
    return [(x + dx, y + dy) for x, y in points]


def _route(e: EdgePath, where: dict, curves: dict, top_of: dict):
    """Points and arrow of one edge of the whole picture."""
    src, dst = where.get(e.src), where.get(e.dst)
    if src is not None and dst is not None and src[0] is dst[0]:  # inside one block
        _, _, r_src, own, dx, dy, _ = src
        curve = own[(r_src, dst[2])]
        return _moved(curve.points, dx, dy), curve.arrow and tuple(_moved(curve.arrow, dx, dy))
    middle = curves[(top_of[e.src], top_of[e.dst])]
    pieces = []
    if src is not None:  # leaves its block through its member's stub on the bottom row,
        block, rep, r, own, dx, dy, box = src  # straight down to the box's border
        stub = _stub(len(rep.sources) + rep.exits.index(rep.keys.index(r)))
        pieces.append(_moved(own[(r, stub)].points, dx, dy))
        pieces.append([(pieces[-1][-1][0], box.y + box.height / 2)])
    pieces.append(middle.points)
    if dst is None:
        return _joined(pieces), middle.arrow
    block, rep, r, own, dx, dy, box = dst  # enters through its source's stub on the top row:
    curve = own[(_stub(block.sources.index(e.src)), r)]  # along the gap above the box, then
    inner = _moved(curve.points, dx, dy)  # straight down to the stub
    pieces.append([(inner[0][0], box.y - box.height / 2)])
    pieces.append(inner)
    return _joined(pieces), curve.arrow and tuple(_moved(curve.arrow, dx, dy))
