"""Which nodes are visible when some ``nn.Module`` subtrees are folded into one node each.

Collapse state is plain data (a set of module paths) passed to every call, so the app,
the exporter and the tests all see the same picture for the same set. A node belongs to
the outermost collapsed module on its module path; a node of an ancestor that sits between
a folded module's nodes (its glue, see :mod:`.contiguous`) is drawn in that module's box;
everything else stays itself. Nodes keep their own ``module`` either way.
"""

from __future__ import annotations

from dataclasses import dataclass
from weakref import WeakKeyDictionary

import networkx as nx

from .contiguous import Flow, foldable_modules, prefixes
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


_flows: "WeakKeyDictionary[GradGraph, Flow]" = WeakKeyDictionary()


def flow(graph: GradGraph) -> Flow:
    """The graph's data flow by node id, built once per graph (its structure never changes)."""
    found = _flows.get(graph)
    if found is None:
        found = _flows[graph] = Flow.of(dict(enumerate(graph.cols.module)),
                                        ((s, d) for s, d, _ in graph.edges))
    return found


def _glue(graph: GradGraph, paths) -> dict[int, str]:
    """Node id -> the folded module whose box takes it in as glue. A node that two folded
    modules would both take in stays out: those two interleave and no drawing is honest."""
    claims: dict[int, list[str]] = {}
    for path in sorted(paths):
        for nid in flow(graph).glue(path) or ():
            claims.setdefault(nid, []).append(path)
    return {nid: owners[0] for nid, owners in claims.items() if len(owners) == 1}


def view(graph: GradGraph, collapsed: frozenset[str] = frozenset()) -> View:
    collapsed = frozenset(collapsed)
    heads = {m: _outermost(m, collapsed) for m in set(graph.cols.module)}
    outermost = [heads[module] for module in graph.cols.module]
    folded = {p for p in outermost if p is not None}
    glue = _glue(graph, folded) if folded else {}
    key_of: list[Key] = []
    members: dict[str, list[int]] = {}
    for nid, path in enumerate(outermost):
        path = path or glue.get(nid)
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


def _acyclic(shown: View) -> bool:
    return nx.is_directed_acyclic_graph(nx.DiGraph(shown.edges))


def default_collapsed(graph: GradGraph, readable: int = READABLE) -> frozenset[str]:
    """The collapse set of the first picture: nothing for small graphs, else the deepest
    module level whose picture has at most ``readable`` nodes (the smallest picture if none
    has). Only modules that fold without a cycle are folded: contiguous ones, and those
    whose in-between ops belong to their ancestors (glue, taken into the box). Should two
    glued modules of a level interleave, which a cycle of the picture would show, that
    level folds only its contiguous modules.

    Graphs without recorded modules cannot be collapsed and come back unchanged.
    """
    if len(graph) <= EXPAND_BELOW:
        return frozenset()
    modules = graph.cols.module
    foldable = foldable_modules(flow(graph))
    if not foldable:
        return frozenset()
    best = None
    for depth in range(max(p.count(".") + 1 for p in foldable), 0, -1):
        fold = frozenset(p for p in foldable if p.count(".") + 1 == depth)
        glue = set().union(*(foldable[p] for p in fold))
        if glue and not _acyclic(view(graph, fold)):
            fold, glue = frozenset(p for p in fold if not foldable[p]), set()
        count = _count(modules, fold, depth) - len(glue)
        if count <= readable:
            return fold
        if best is None or count < best[0]:
            best = (count, fold)
    return best[1]
