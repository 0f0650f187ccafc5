"""Which ``nn.Module`` paths are contiguous in the data flow: no path leaves the module's
nodes and comes back into them.

Only such a module can be drawn as one box, or folded into one node, without lying: a
module called twice with other work in between (an RNN cell in a loop), or a container
whose children alternate with functional ops (``ModuleList`` layers with ``F.relu`` between
them), would need the outside ops inside its box, and folded it would make a cycle.
"""

from __future__ import annotations

from collections import deque


def prefixes(path: str) -> list[str]:
    """``"h.0.attn"`` -> ``["h", "h.0", "h.0.attn"]``: the module and its ancestors."""
    parts = path.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts) + 1)]


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


def _contiguous(members: set, succ: dict, topo: dict) -> bool:
    """No path member -> outside -> member: a search forward from the members' outside
    successors, never past the last member in topological order."""
    last = max(topo[m] for m in members)
    seen: set = set()
    todo = [s for m in members for s in succ[m] if s not in members and topo[s] < last]
    while todo:
        k = todo.pop()
        if k in seen:
            continue
        seen.add(k)
        for s in succ[k]:
            if s in members:
                return False
            if topo[s] < last:
                todo.append(s)
    return True


def contiguous_modules(modules: dict, edges) -> set[str]:
    """``modules``: key -> module path or None; ``edges``: (src, dst) pairs between keys.
    The module paths (ancestors included) whose keys are contiguous."""
    succ: dict = {k: [] for k in modules}
    for a, b in edges:
        succ[a].append(b)
    topo = topological(list(modules), succ)
    members: dict[str, set] = {}
    for key, path in modules.items():
        for p in prefixes(path) if path else ():
            members.setdefault(p, set()).add(key)
    return {p for p, m in members.items() if _contiguous(m, succ, topo)}
