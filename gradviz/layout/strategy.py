"""Which engine and which Graphviz settings for a graph of a given size, and why.

Measured on a 2-core machine (benchmarks/layout.py): ``dot`` with its defaults lays out a
400-node computation graph in about 0.2 s and grows roughly quadratically beyond; spline
routing is a large part of that. So:

* up to ``SPLINES_UP_TO`` visible nodes: ``dot`` with curved, routed edges (best picture);
* up to ``DOT_UP_TO``: ``dot`` with a capped network-simplex (``nslimit``/``nslimit1``,
  ``mclimit``) and polyline edges, which keeps the layered look at a fraction of the time;
* above: the linear-time layered layout of our own (:mod:`gradviz.layout.layered`): dot
  would take tens of seconds at 5,000 nodes and hours at 100,000. The first picture of a
  recorded big graph is collapsed by module (``gradviz.core.collapse.default_collapsed``),
  so it usually stays in dot's range; the expanded view of a huge graph is what lands here.
"""

from __future__ import annotations

SPLINES_UP_TO = 400
DOT_UP_TO = 1500


def choose(visible: int) -> tuple[str, dict]:
    """(engine, extra graph attributes) for ``visible`` nodes."""
    if visible <= SPLINES_UP_TO:
        return "dot", {}
    if visible <= DOT_UP_TO:
        return "dot", {"nslimit": "2", "nslimit1": "2", "mclimit": "0.5", "splines": "polyline"}
    return "layered", {}
