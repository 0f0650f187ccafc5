"""What each drawn edge says about the gradient it carried back (issue 13): its flow's text in
values mode, its width by the flow's norm in health mode.

Only edges between two unfolded nodes are given either: an edge into or out of a folded box
stands for several flows, and their sum is not kept, so it is drawn plain (no label, 1 pt).
"""

from __future__ import annotations

import math

from gradviz.core.collapse import View
from gradviz.core.flows import brief, captured, flow_snapshot, norms as flow_norms
from gradviz.core.graph import GradGraph

#: Edge width in health mode: the smallest flow's and the largest's (points, log scale between).
THIN, THICK = 0.75, 5.0


def _pairs(graph: GradGraph, view: View) -> dict[tuple, list[int]]:
    """(src, dst) -> its graph edge numbers (two for ``x * x``), for unfolded pairs only."""
    shown = set(view.edges)
    found: dict[tuple, list[int]] = {}
    for e, (src, dst, _) in enumerate(graph.edges):
        if (src, dst) in shown:
            found.setdefault((src, dst), []).append(e)
    return found


def labels(graph: GradGraph, view: View,
           flowed: frozenset | None = None) -> dict[tuple, tuple[str, bool]]:
    """(src, dst) -> the flows along it in a few characters (``; `` between repeated edges),
    and whether they have been sent: by the player's step, whose ``flowed`` edges have sent
    theirs (None: every one)."""
    if not captured(graph):
        return {}
    return {pair: ("; ".join(brief(flow_snapshot(graph, e)) for e in edges),
                   flowed is None or flowed.issuperset(edges))
            for pair, edges in _pairs(graph, view).items()}


def widths(graph: GradGraph, view: View) -> dict[tuple, float]:
    """(src, dst) -> pen width from log10 of its flow's norm (the larger of repeated edges'),
    from :data:`THIN` for the smallest to :data:`THICK` for the largest. Worked out once per
    pass and picture (``view``): health mode asks again at every player step."""
    if not captured(graph):
        return {}
    known = flow_norms(graph, ())  # this pass's norms, kept on the graph
    cached = graph.__dict__.get("_flow_widths")
    if cached is not None and cached[0] is view and cached[1] is known:
        return cached[2]  # a player step: same pass, same picture
    pairs = _pairs(graph, view)
    norms = flow_norms(graph, (e for edges in pairs.values() for e in edges))
    graph.__dict__["_flow_widths"] = (view, norms, _scaled(pairs, norms))
    return graph.__dict__["_flow_widths"][2]


def _scaled(pairs: dict, norms: dict) -> dict[tuple, float]:
    logs = {}
    for pair, edges in pairs.items():
        good = [n for n in (norms[e] for e in edges) if n is not None and 0 < n < math.inf]
        if good:
            logs[pair] = math.log10(max(good))
    if not logs:
        return {}
    lo, hi = min(logs.values()), max(logs.values())
    span = hi - lo
    return {pair: THIN + (THICK - THIN) * ((v - lo) / span if span else 0.5)
            for pair, v in logs.items()}
