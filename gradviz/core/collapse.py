"""Which nodes are visible when some ``nn.Module`` subtrees are folded into one node each.

Collapse state is plain data (a set of module paths, and of :class:`.runs.Run` for runs of
repeated blocks folded as one box) passed to every call, so the app, the exporter and the
tests all see the same picture for the same set. A node belongs to the outermost collapsed
module on its module path, or to the run that holds that module; a node of an ancestor that
sits between a folded box's nodes (its glue, see :mod:`.contiguous`) is drawn in that box;
everything else stays itself. Nodes keep their own ``module`` either way.
"""

from __future__ import annotations

from dataclasses import dataclass
from weakref import WeakKeyDictionary

import networkx as nx

from .contiguous import Flow, foldable_modules, prefixes
from .graph import GradGraph
from .keys import Key, module_key
from .runs import Run, find_runs

#: ``default_collapsed`` shows graphs up to this size whole: a lecture demo's eight layers are
#: its point (``vanishing`` compares each layer's gradient), and they read at this size.
FOLD_RUNS_ABOVE = 150
#: Up to this size it folds only runs of repeated blocks: the rest lays out in well under 1 s.
EXPAND_BELOW = 600
#: ... and otherwise picks the most detailed module level that shows at most this many nodes.
READABLE = 400


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
    members: dict[str, list[int]]  # collapsed module or run key -> node ids inside
    edges: list[tuple[Key, Key]]  # distinct, no self loops, sorted by their ends
    collapsed: frozenset
    runs: dict[str, Run]  # key -> the run of blocks it shows, for each one folded


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


_runs: "WeakKeyDictionary[GradGraph, frozenset[Run]]" = WeakKeyDictionary()


def runs(graph: GradGraph) -> frozenset[Run]:
    """The graph's runs of repeated blocks that fold together without a cycle, found once
    per graph (reading the blocks' shapes costs about 0.1 ms a block)."""
    found = _runs.get(graph)
    if found is None:
        found = frozenset(find_runs(graph, flow(graph)))
        if found and not _acyclic(view(graph, found)):  # two runs that share their glue
            found = frozenset()
        _runs[graph] = found
    return found


def _glue(graph: GradGraph, boxes: dict[str, str | Run]) -> dict[int, str]:
    """Node id -> the key of the folded box (key -> module path or run) that takes it in as
    glue. A node that two folded boxes would both take in stays out: those two interleave
    and no drawing is honest."""
    found = flow(graph)
    claims: dict[int, list[str]] = {}
    for key in sorted(boxes):
        box = boxes[key]
        for nid in (box.glue(found) if isinstance(box, Run) else found.glue(box)) or ():
            claims.setdefault(nid, []).append(key)
    return {nid: owners[0] for nid, owners in claims.items() if len(owners) == 1}


def view(graph: GradGraph, collapsed: frozenset = frozenset()) -> View:
    collapsed = frozenset(collapsed)
    runs = {r.key: r for r in collapsed if isinstance(r, Run)}
    run_of = {p: key for key, r in runs.items() for p in r.paths}  # block path -> run's key
    paths = frozenset(p for p in collapsed if isinstance(p, str)) | run_of.keys()
    heads = {m: _outermost(m, paths) for m in set(graph.cols.module)}
    box_of = {p: run_of.get(p) or module_key(p) for p in set(heads.values()) if p is not None}
    outermost = [heads[module] for module in graph.cols.module]
    boxes = {box_of[p]: runs.get(box_of[p], p) for p in box_of}
    glue = _glue(graph, boxes) if boxes else {}
    key_of: list[Key] = []
    members: dict[str, list[int]] = {}
    for nid, path in enumerate(outermost):
        key = box_of[path] if path is not None else glue.get(nid)
        if key is None:
            key_of.append(nid)
        else:
            key_of.append(key)
            members.setdefault(key, []).append(nid)
    keys = list(dict.fromkeys(key_of))
    edges = {(key_of[src], key_of[dst]) for src, dst, _ in graph.edges}
    edges = sorted(((a, b) for a, b in edges if a != b), key=_edge_order)
    return View(key_of, keys, members, edges, collapsed, {k: r for k, r in runs.items()
                                                           if k in members})


def toggled(collapsed, name: str) -> frozenset:
    """``collapsed`` after a double-click on ``name``: a run's box (its key) opens into its
    blocks, each folded like a module; a module path folds, or unfolds when folded."""
    run = next((r for r in collapsed if isinstance(r, Run) and r.key == name), None)
    if run is not None:
        return frozenset(collapsed) - {run} | set(run.paths)
    return frozenset(collapsed) ^ {name}


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


def default_collapsed(graph: GradGraph, readable: int = READABLE) -> frozenset:
    """The collapse set of the first picture: nothing for graphs small enough to read whole;
    every run of repeated blocks folded as one box (:mod:`.runs`), and nothing else, for
    mid-sized ones (a 6-layer transformer encoder, 458 nodes); else the deepest module level whose
    picture has at most ``readable`` nodes (the smallest picture if none has). Only modules
    that fold without a cycle are folded: contiguous ones, and those whose in-between ops
    belong to their ancestors (glue, taken into the box). Should two glued modules of a level
    interleave, which a cycle of the picture would show, that level folds only its
    contiguous modules.

    Graphs without recorded modules cannot be collapsed and come back unchanged.
    """
    if not any(graph.cols.module) or len(graph) <= FOLD_RUNS_ABOVE:
        return frozenset()
    folded_runs = runs(graph)
    if len(graph) <= EXPAND_BELOW:
        return folded_runs
    in_runs = set().union(*(r.inside(flow(graph)) | r.glue(flow(graph)) for r in folded_runs))
    blocks = {p for r in folded_runs for p in r.paths}
    modules = [m for nid, m in enumerate(graph.cols.module) if nid not in in_runs]
    foldable = {p: g for p, g in foldable_modules(flow(graph)).items()
                if blocks.isdisjoint(prefixes(p))}
    if not foldable:
        return folded_runs
    best = None
    for depth in range(max(p.count(".") + 1 for p in foldable), 0, -1):
        fold = frozenset(p for p in foldable if p.count(".") + 1 == depth)
        glue = set().union(*(foldable[p] for p in fold)) - in_runs
        if glue and not _acyclic(view(graph, fold | folded_runs)):
            fold, glue = frozenset(p for p in fold if not foldable[p]), set()
        shown = {r for r in folded_runs if fold.isdisjoint(prefixes(r.parent))}  # else folded away
        count = _count(modules, fold, depth) - len(glue) + len(shown)
        if count <= readable:
            return fold | shown
        if best is None or count < best[0]:
            best = (count, fold | shown)
    return best[1]
