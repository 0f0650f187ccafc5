"""What the app asks of a graph when a node is selected, searched or summarised; Qt-free.

The view draws what these return: highlight sets are computed here on plain edge lists
(the graph's, or a Layout's visible ones), so that they can be tested without a window.
"""

from __future__ import annotations

import math
from collections import Counter, deque
from typing import Hashable, Iterable

import torch

from .graph import KINDS, GradGraph
from .memory_report import summary_text as memory_summary
from .snapshot import Snapshot

PLURAL = {"leaf": "leaves", "op": "ops", "output": "outputs"}

Edge = tuple[Hashable, Hashable]


def reachable(edges: Iterable[Edge], start: Hashable, *, forward: bool) -> set:
    """Keys reachable from ``start`` along ``edges`` (src -> dst), or against them; without ``start``."""
    nxt: dict = {}
    for src, dst, *_ in edges:
        a, b = (src, dst) if forward else (dst, src)
        nxt.setdefault(a, []).append(b)
    seen, todo = set(), deque([start])
    while todo:
        for k in nxt.get(todo.popleft(), ()):
            if k not in seen:
                seen.add(k)
                todo.append(k)
    seen.discard(start)
    return seen


def upstream(graph: GradGraph, node_id: int) -> set[int]:
    """Nodes whose data flows into ``node_id``: where its gradient goes on to in backward."""
    return reachable(graph.edges, node_id, forward=False)


def downstream(graph: GradGraph, node_id: int) -> set[int]:
    """Nodes computed from ``node_id``: where its gradient comes from."""
    return reachable(graph.edges, node_id, forward=True)


def incident(edges: Iterable[Edge], key: Hashable) -> list[int]:
    """Indices of the edges entering or leaving ``key``."""
    return [i for i, (src, dst, *_) in enumerate(edges) if src == key or dst == key]


def whole_norm(snap: Snapshot) -> float | None:
    """The norm of a snapshot's whole data in one op (its stats take a dozen: 20,000 nodes'
    take seconds); NaN or Inf when the data holds one. None: not kept whole, or not numbers."""
    data = snap.data
    if data is None or data.layout != torch.strided or not (data.is_floating_point()
                                                            or data.is_complex()):
        return None
    return float(torch.linalg.vector_norm(data))


def finite(snap: Snapshot | None) -> bool:
    """Whether every value of ``snap`` is finite (None: nothing known, so nothing wrong)."""
    if snap is None:
        return True
    if snap.data is not None and snap.data.layout == torch.strided:
        norm = whole_norm(snap)  # NaN or Inf in, NaN or Inf out; an overflow is checked
        return norm is None or math.isfinite(norm) or bool(torch.isfinite(snap.data).all())
    return not snap.has_nonfinite


def first_nonfinite(graph: GradGraph) -> int | None:
    """The node, in backward order, whose captured gradient first held a NaN or an Inf.

    Backward order is where a NaN *appears*: every node after it inherits it, so the first
    one is the op to look at.
    """
    for nid in graph.capture.order:
        if not all(finite(snap) for snap in graph.node(nid).grad_snapshots):
            return nid
    return None


def visible_key(key_of: list, keys, node_id: int):
    """The drawn key that shows ``node_id``: itself, or the folded module box that holds it,
    glue included, as ``collapse.view`` assigned it (``key_of``); None when not drawn."""
    key = key_of[node_id]
    return key if key in keys else None


def _status(graph: GradGraph) -> str:
    """Where backward stands; a pass that raised reached some nodes and never finished."""
    if graph.has_grads:
        return "gradients captured"
    reached = len(graph.capture.order)
    if reached:
        return f"raised after reaching {reached} of {len(graph)} nodes"
    return "backward not run yet"


def summary(graph: GradGraph) -> dict:
    """Counts by kind and by op, and where backward stands: what an empty selection shows.

    Cheap on purpose (no tensor statistics).
    """
    kinds = Counter(graph.cols.kind)
    return {
        "nodes": len(graph),
        "edges": len(graph.edges),
        "kinds": {k: n for k in KINDS if (n := kinds[k])},
        "ops": dict(Counter(graph.cols.op).most_common()),
        "status": _status(graph),
        "reached": len(graph.capture.order),
    }


def summary_text(graph: GradGraph, scale: str | None = None) -> str:
    """The graph summary in words: counts, where backward stands, the gradient-scale verdict
    (``scale``, :mod:`.diagnoses.scale`), where the memory saved for backward is
    (:mod:`.memory_report`) and the commonest ops. A fifth of a second at 20,000 nodes: the
    app works it out off the GUI thread."""
    s = summary(graph)
    kinds = ", ".join(f"{n} {k if n == 1 else PLURAL[k]}" for k, n in s["kinds"].items())
    ops = "\n".join(f"  {n:>5}  {op}" for op, n in list(s["ops"].items())[:20])
    verdict = f"{scale}\n" if scale else ""
    return (f"{s['nodes']} nodes ({kinds}), {s['edges']} edges\nBackward: {s['status']}\n"
            f"{verdict}\n{memory_summary(graph)}\n\nOps:\n{ops}")
