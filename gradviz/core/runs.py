"""Runs of repeated blocks: consecutive siblings (``h.0`` … ``h.11``) whose subgraphs are the
same, folded as one box (``h.0 … h.11  ×12``) instead of a column of identical ones.

The graph decides what is "the same", not the names: two blocks match when their nodes, in
node id order (which the walk gives every copy of a block alike), have the same kinds, ops
and module paths below the block, the same edges between them, the same pattern of edges in
and out (:func:`wiring`, which the layout's block reuse shares), and the same output shapes
where they leave the block. Only the exits' shapes are read: a shape comes from autograd per
node, and a block whose widths differ differs where it ends. A run is at least
:data:`MIN_RUN` such siblings with consecutive indices, each fed by the one before (directly
or through its parent's ops), that fold without a cycle: the last layer without dropout, or
a wider one, ends the run.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from .contiguous import Flow, prefixes
from .keys import RunKey
#: Fewer identical blocks are shown as they are: folding two saves one box and hides one.
MIN_RUN = 3


@dataclass(frozen=True)
class Run:
    """Blocks ``parent.first`` … ``parent.last`` folded as one box; lives in a collapse set
    beside module paths, and its box is drawn as :attr:`key`."""

    parent: str  # "" for top-level blocks (an nn.Sequential traced as the model)
    first: int
    last: int

    @cached_property
    def paths(self) -> list[str]:
        head = f"{self.parent}." if self.parent else ""
        return [f"{head}{i}" for i in range(self.first, self.last + 1)]

    @property
    def count(self) -> int:
        return self.last - self.first + 1

    @cached_property
    def key(self) -> str:
        return RunKey(f"{self.paths[0]}..{self.paths[-1]}").raw

    @property
    def title(self) -> str:
        return f"{self.paths[0]} … {self.paths[-1]}  ×{self.count}"

    def inside(self, flow: Flow) -> set:
        """The keys of all its blocks."""
        return set().union(*(flow.members[p] for p in self.paths))

    def glue(self, flow: Flow) -> frozenset | None:
        """What its box takes in besides its blocks (see ``Flow.glue``): the parent's ops
        between two blocks; None when it cannot be folded."""
        return flow.glue_of(self, self.inside(flow), prefixes(self.parent) if self.parent else [])


@dataclass
class Wiring:
    inner: list  # (i, j): an edge from member i to member j
    entries: list  # (slot, i): an edge into member i from the slot-th outside source
    exits: list  # i: member i has an edge out
    sources: list  # outside keys with an edge in, in order of first use


def wiring(keys: list, succ: dict, pred: dict) -> Wiring:
    """How the members ``keys`` are wired among themselves and to the outside, by index."""
    index = {k: i for i, k in enumerate(keys)}
    sources: dict = {}
    found = Wiring([], [], [], [])
    for i, k in enumerate(keys):
        for p in pred.get(k, ()):
            if p not in index:
                found.entries.append((sources.setdefault(p, len(sources)), i))
        outside = False
        for s in succ.get(k, ()):
            if s in index:
                found.inner.append((i, index[s]))
            else:
                outside = True
        if outside:
            found.exits.append(i)
    found.sources = list(sources)
    return found


def signature(graph, flow: Flow, path: str) -> tuple:
    """What two blocks must share to be the same block (see the module docstring)."""
    keys = sorted(flow.members[path])
    c, cut = graph.cols, len(path)
    wired = wiring(keys, flow.succ, flow.pred)
    nodes = tuple((c.kind[k], c.op[k], c.module[k][cut:]) for k in keys)
    shapes = tuple(tuple(m[0] for m in graph.meta(keys[i])) for i in wired.exits)
    return (nodes, tuple(sorted(wired.inner)), tuple(sorted(wired.entries)),
            tuple(wired.exits), shapes)


def _fed(flow: Flow, before: set, block: set, parent: str) -> bool:
    """Whether ``block`` takes input from ``before``, directly or through ops of ``parent``,
    its ancestors or no module (a residual ``+``, an activation between two layers). Never
    back past ``before``'s first key in topological order: a residual stream runs back to
    the input through every earlier block's glue."""
    lenders = set(prefixes(parent)) if parent else set()
    first = min(flow.topo[k] for k in before)
    todo = [p for k in block for p in flow.pred[k] if p not in block]
    seen: set = set()
    while todo:
        k = todo.pop()
        if k in before:
            return True
        module = flow.modules[k]
        if k not in seen and flow.topo[k] > first and (not module or module in lenders):
            seen.add(k)
            todo.extend(flow.pred[k])
    return False


def _runs_of(graph, flow: Flow, parent: str, children: dict[int, str]) -> list[Run]:
    """The runs among one parent's numbered children."""
    found: list[Run] = []
    start, sig = None, None
    indices = sorted(children)
    for n, i in enumerate(indices + [None]):
        here = None if i is None or flow.glue(children[i]) is None else signature(
            graph, flow, children[i])
        continues = (start is not None and here == sig and i == indices[n - 1] + 1
                     and _fed(flow, flow.members[children[i - 1]], flow.members[children[i]],
                              parent))
        if not continues:
            if start is not None and indices[n - 1] - start + 1 >= MIN_RUN:
                run = Run(parent, start, indices[n - 1])
                if run.glue(flow) is not None:
                    found.append(run)
            start, sig = (i, here) if here is not None else (None, None)
    return found


def find_runs(graph, flow: Flow) -> list[Run]:
    """The outermost runs of repeated blocks in ``graph`` (``flow``: its data flow by node
    id); a run inside a block of another run is folded with that block."""
    families: dict[str, dict[int, str]] = {}
    for path in flow.members:
        parent, _, last = path.rpartition(".")
        if last.isdigit():
            families.setdefault(parent, {})[int(last)] = path
    runs = [r for parent, children in sorted(families.items()) if len(children) >= MIN_RUN
            for r in _runs_of(graph, flow, parent, children)]
    blocks = {p for r in runs for p in r.paths}
    return [r for r in runs if not r.parent or blocks.isdisjoint(prefixes(r.parent))]
