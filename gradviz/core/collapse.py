"""Which nodes are visible when some ``nn.Module`` subtrees are folded into one node each.

Collapse state is plain data (a set of module paths) passed to every call, so the app,
the exporter and the tests all see the same picture for the same set. A node belongs to
the outermost collapsed module on its module path; everything else stays itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from .graph import GradGraph

#: A visible node: a graph node id, or ``"module:<path>"`` for a collapsed module.
Key = int | str

#: ``default_collapsed`` leaves graphs up to this size alone: they lay out in well under 1 s.
EXPAND_BELOW = 600
#: ... and otherwise picks the most detailed module level that shows at most this many nodes.
READABLE = 400


def module_key(path: str) -> str:
    return f"module:{path}"


def prefixes(path: str) -> list[str]:
    """``"h.0.attn"`` -> ``["h", "h.0", "h.0.attn"]``: the module and its ancestors."""
    parts = path.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts) + 1)]


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
    edges: list[tuple[Key, Key]]  # distinct, no self loops, in the graph's edge order
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
    edges = {}
    for src, dst, _ in graph.edges:
        a, b = key_of[src], key_of[dst]
        if a != b:
            edges[(a, b)] = None
    return View(key_of, keys, members, list(edges), collapsed)


def _count_at_depth(modules: list, depth: int) -> int:
    """Visible nodes if every module ``depth`` segments deep (or deeper) were folded."""
    folded: set[str] = set()
    single = 0
    for module in modules:
        parts = module.split(".") if module else ()
        if len(parts) >= depth:
            folded.add(".".join(parts[:depth]))
        else:
            single += 1
    return single + len(folded)


def default_collapsed(graph: GradGraph, readable: int = READABLE) -> frozenset[str]:
    """The collapse set of the first picture: nothing for small graphs, else the deepest
    module level whose picture has at most ``readable`` nodes (the top level if none has).

    Graphs without recorded modules cannot be collapsed and come back unchanged.
    """
    if len(graph) <= EXPAND_BELOW:
        return frozenset()
    paths = module_paths(graph)
    if not paths:
        return frozenset()
    modules = graph.cols.module
    deepest = max(p.count(".") + 1 for p in paths)
    depth = 1
    for d in range(deepest, 0, -1):
        if _count_at_depth(modules, d) <= readable:
            depth = d
            break
    return frozenset(p for p in paths if p.count(".") + 1 == depth)
