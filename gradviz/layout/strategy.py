"""Which engine lays out a graph of a given size, and why.

Measured on a 2-core machine (benchmarks/layout.py): ``dot`` lays out a recorded
1,500-node transformer, module clusters included, in about 0.3 s, but it grows roughly
quadratically (26 s for a flat 6,000-node transformer, hours at 100,000), and its cheaper
settings (``nslimit``, straight or polyline edges) changed our timings by less than the
noise. So:

* up to ``DOT_UP_TO`` visible nodes: ``dot`` with its defaults (routed curved edges, module
  clusters that never overlap);
* above: the linear-time layered layout of our own (:mod:`gradviz.layout.layered`). The
  first picture of a recorded big graph is collapsed by module
  (``gradviz.core.collapse.default_collapsed``), so it usually stays in dot's range; the
  expanded view of a huge graph is what lands here.

Before either, a graph of repeated module blocks (a transformer's) is laid out one block per
distinct structure (:mod:`gradviz.layout.blocks`), and only the graph of blocks by one of
these engines.
"""

from __future__ import annotations

DOT_UP_TO = 1500


def choose(visible: int) -> tuple[str, dict]:
    """(engine, extra graph attributes) for ``visible`` nodes."""
    return ("dot", {}) if visible <= DOT_UP_TO else ("layered", {})
