"""Which ``nn.Module`` paths are contiguous in the data flow: no path leaves the module's
nodes and comes back into them; and which can be folded anyway, by taking in "glue".

Only a contiguous module can be drawn as one box, or folded into one node, without lying: a
module called twice with other work in between (an RNN cell in a loop), or a container
whose children alternate with functional ops (``ModuleList`` layers with ``F.relu`` between
them), would need the outside ops inside its box, and folded it would make a cycle.

Glue: real models do the second all the time (torchvision, timm and Hugging Face models call
``F.relu``, ``F.gelu`` or a residual ``+`` in the parent's ``forward`` between two children).
The ops between such a module's nodes then belong to an ancestor (or to no module), so
drawing them inside the folded box says nothing false: the ancestor's box would hold them
too. :func:`foldable_modules` lists those ops per module; a folded box takes them in for
display only (``gradviz.core.collapse.view``), every node keeps its own ``module``. The box
is then contiguous by construction (every outside path between its nodes runs through the
glue it took in), so folding it makes no cycle. A module whose in-between ops belong to a
sibling or a stranger is not glued: those ops are real work of another module.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field


def prefixes(path: str) -> list[str]:
    """``"h.0.attn"`` -> ``["h", "h.0", "h.0.attn"]``: the module and its ancestors."""
    parts = path.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts) + 1)]


def within(module: str | None, path: str) -> bool:
    """Whether ``module`` is ``path`` or one of its submodules."""
    return module is not None and (module == path or module.startswith(path + "."))


def topological(keys, succ: dict) -> dict:
    """Key -> position in a topological order (Kahn). Keys on a cycle, which only a folded
    non-contiguous module can make, come last in their given order."""
    indegree = dict.fromkeys(keys, 0)
    for k in keys:
        for s in succ[k]:
            indegree[s] += 1
    ready = deque(k for k in keys if indegree[k] == 0)
    order: dict = {}
    while ready:
        k = ready.popleft()
        order[k] = len(order)
        for s in succ[k]:
            indegree[s] -= 1
            if indegree[s] == 0:
                ready.append(s)
    for k in keys:
        order.setdefault(k, len(order))
    return order


@dataclass
class Flow:
    """The data flow between keys, read once for any number of modules."""

    modules: dict  # key -> module path or None
    succ: dict
    pred: dict
    topo: dict
    members: dict  # module path (ancestors included) -> its keys
    glued: dict = field(default_factory=dict)  # module path -> glue(path), once computed

    @classmethod
    def of(cls, modules: dict, edges) -> "Flow":
        """``modules``: key -> module path or None; ``edges``: (src, dst) pairs between keys."""
        succ: dict = {k: [] for k in modules}
        pred: dict = {k: [] for k in modules}
        for a, b in edges:
            succ[a].append(b)
            pred[b].append(a)
        by_path: dict[str, list] = {}
        for key, path in modules.items():
            if path:
                by_path.setdefault(path, []).append(key)
        members: dict[str, set] = {}
        for path, keys in by_path.items():
            for p in prefixes(path):
                members.setdefault(p, set()).update(keys)
        return cls(modules, succ, pred, topological(list(modules), succ), members)

    def between(self, inside: set) -> set:
        """Keys outside ``inside`` (a module's keys, or a run's) on a path from one of its keys
        to another (empty: contiguous). Forward from the members, never past the last one in
        topological order, then back from the members inside what was reached."""
        succ, topo = self.succ, self.topo
        last = max(topo[m] for m in inside)
        down: set = set()
        todo = [s for m in inside for s in succ[m] if s not in inside and topo[s] < last]
        while todo:
            k = todo.pop()
            if k not in down:
                down.add(k)
                todo.extend(s for s in succ[k] if s not in inside and topo[s] < last)
        found: set = set()
        todo = [p for m in inside for p in self.pred[m] if p in down]
        while todo:
            k = todo.pop()
            if k not in found:
                found.add(k)
                todo.extend(p for p in self.pred[k] if p in down)
        return found

    def glue(self, path: str) -> frozenset | None:
        """What folding ``path`` takes in: nothing for a contiguous module, the keys between
        its own when all belong to its ancestors or to no module, and None (not foldable)
        when some belong to any other module."""
        return self.glue_of(path, self.members[path], prefixes(path)[:-1])

    def glue_of(self, unit, inside: set, ancestors: list[str]) -> frozenset | None:
        """:meth:`glue` of any box: ``unit`` (a module path, or a run of blocks) names it for
        the cache, ``inside`` holds its keys, ``ancestors`` the modules that may lend glue."""
        if unit not in self.glued:
            between, lenders = self.between(inside), set(ancestors)
            ok = all(not self.modules[k] or self.modules[k] in lenders for k in between)
            self.glued[unit] = frozenset(between) if ok else None
        return self.glued[unit]


def contiguous_modules(modules: dict, edges) -> set[str]:
    """``modules``: key -> module path or None; ``edges``: (src, dst) pairs between keys.
    The module paths (ancestors included) whose keys are contiguous."""
    flow = Flow.of(modules, edges)
    return {p for p, inside in flow.members.items() if not flow.between(inside)}


def foldable_modules(flow: Flow) -> dict[str, frozenset]:
    """Module path -> the glue it takes in when folded (empty when contiguous), for every
    module that can be folded without a cycle."""
    return {p: g for p in flow.members if (g := flow.glue(p)) is not None}
