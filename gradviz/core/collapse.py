"""Which nodes are visible when some ``nn.Module`` subtrees are folded into one node each.

Collapse state is plain data (a set of module paths) passed to every call, so the app,
the exporter and the tests all see the same picture for the same set. A node belongs to
the outermost collapsed module on its module path; everything else stays itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from .contiguous import contiguous_modules, prefixes
from .graph import GradGraph

#: A visible node: a graph node id, or ``"module:<path>"`` for a collapsed module.
Key = int | str

#: ``default_collapsed`` leaves graphs up to this size alone: they lay out in well under 1 s.
EXPAND_BELOW = 600
#: ... and otherwise picks the most detailed module level that shows at most this many nodes.
READABLE = 400


def module_key(path: str) -> str:
    return f"module:{path}"


def module_paths(graph: GradGraph) -> list[str]:
    """Every module path that holds nodes, ancestors included, sorted."""
    found: set[str] = set()
    for module in set(graph.cols.module):
        if module:
            found.update(prefixes(module))
    return sorted(found)


@dataclass
class View:
    """The graph as drawn: visible keys, what each one holds, and the edges between them."""

    key_of: list[Key]  # per node id: the key it is drawn as
    keys: list[Key]  # visible keys, in order of their first node id (deterministic)
    members: dict[str, list[int]]  # collapsed module key -> node ids inside
    edges: list[tuple[Key, Key]]  # distinct, no self loops, sorted by their ends
    collapsed: frozenset[str]


def _outermost(module: str | None, collapsed: frozenset[str]) -> str | None:
    if not module or not collapsed:
        return None
    for path in prefixes(module):
        if path in collapsed:
            return path
    return None


def view(graph: GradGraph, collapsed: frozenset[str] = frozenset()) -> View:
    collapsed = frozenset(collapsed)
    key_of: list[Key] = []
    members: dict[str, list[int]] = {}
    for nid, module in enumerate(graph.cols.module):
        path = _outermost(module, collapsed)
        if path is None:
            key_of.append(nid)
        else:
            key = module_key(path)
            key_of.append(key)
            members.setdefault(key, []).append(nid)
    keys = list(dict.fromkeys(key_of))
    edges = {(key_of[src], key_of[dst]) for src, dst, _ in graph.edges}
    edges = sorted(((a, b) for a, b in edges if a != b), key=_edge_order)
    return View(key_of, keys, members, edges, collapsed)


def _edge_order(edge: tuple) -> tuple:
    """Edges sorted by their ends (ids first, then modules), so the picture and the DOT
    text depend on the graph, not on the order in which it was walked."""
    return tuple((1, k) if isinstance(k, str) else (0, k) for k in edge)


def _count(modules: list, fold: frozenset, depth: int) -> int:
    """Visible nodes when the modules in ``fold`` (all ``depth`` segments deep) are folded."""
    keys: set = set()
    single = 0
    for module in modules:
        head = ".".join(module.split(".")[:depth]) if module else None
        if head in fold:
            keys.add(head)
        else:
            single += 1
    return single + len(keys)


def default_collapsed(graph: GradGraph, readable: int = READABLE) -> frozenset[str]:
    """The collapse set of the first picture: nothing for small graphs, else the deepest
    module level whose picture has at most ``readable`` nodes (the smallest picture if none
    has). Only modules contiguous in the data flow are folded: folding one that is not
    (layers with functional ops between them) would make a cycle of the picture.

    Graphs without recorded modules cannot be collapsed and come back unchanged.
    """
    if len(graph) <= EXPAND_BELOW:
        return frozenset()
    modules = graph.cols.module
    foldable = contiguous_modules(dict(enumerate(modules)), ((s, d) for s, d, _ in graph.edges))
    if not foldable:
        return frozenset()
    best = None
    for depth in range(max(p.count(".") + 1 for p in foldable), 0, -1):
        fold = frozenset(p for p in foldable if p.count(".") + 1 == depth)
        count = _count(modules, fold, depth)
        if count <= readable:
            return fold
        if best is None or count < best[0]:
            best = (count, fold)
    return best[1]
