"""Which ``nn.Module`` boxes can be drawn: only those whose members are contiguous in the
data flow (no path leaves the module and comes back into it).

A module called twice with other work in between (an RNN cell in a loop), or a container
whose children alternate with functional ops (``ModuleList`` layers with ``F.relu`` between
them) is not contiguous: one box around it would have to contain the outside ops too, and
``dot`` answers such a cluster by turning edges upward. Those modules get no box; their
nodes belong to the nearest enclosing module that does.
"""

from __future__ import annotations

from collections import deque

from gradviz.core.collapse import prefixes


def _topological(keys: list, succ: dict) -> dict:
    indegree = {k: 0 for k in keys}
    for k in keys:
        for s in succ[k]:
            indegree[s] += 1
    ready = deque(k for k in keys if indegree[k] == 0)
    order = {}
    while ready:
        k = ready.popleft()
        order[k] = len(order)
        for s in succ[k]:
            indegree[s] -= 1
            if indegree[s] == 0:
                ready.append(s)
    return order


def _contiguous(members: set, succ: dict, topo: dict) -> bool:
    """No path member -> outside node -> member: a search forward from the members' outside
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


def drawable(modules: dict, edges: list) -> tuple[dict, dict]:
    """``modules``: visible key -> module path (None at top level).

    Returns (each key's innermost drawable module or None, each drawable module's nearest
    drawable ancestor or None).
    """
    keys = list(modules)
    succ: dict = {k: [] for k in keys}
    for a, b in edges:
        succ[a].append(b)
    topo = _topological(keys, succ)
    members: dict[str, set] = {}
    for key, path in modules.items():
        for p in prefixes(path) if path else ():
            members.setdefault(p, set()).add(key)
    ok = {p for p, m in members.items() if _contiguous(m, succ, topo)}

    def innermost(chain: list[str]):
        return next((p for p in reversed(chain) if p in ok), None)

    inside = {key: innermost(prefixes(path)) if path else None for key, path in modules.items()}
    parents = {p: innermost(prefixes(p)[:-1]) for p in ok}
    return inside, parents
