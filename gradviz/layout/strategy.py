"""Which engine lays out a graph of a given size, and why.

Measured on a 2-core machine (benchmarks/layout.py): ``dot`` lays out a recorded
1,500-node transformer, module clusters included, in about 0.3 s, but it grows roughly
quadratically (26 s for a flat 6,000-node transformer, hours at 100,000), and its cheaper
settings (``nslimit``, straight or polyline edges) changed our timings by less than the
noise. So:

* up to ``DOT_UP_TO`` visible nodes: ``dot`` with its defaults (routed curved edges, module
  clusters that never overlap);
* above, or when long edges would give dot too many dummy vertices (a weight shared by every
  layer): the linear-time layered layout of our own (:mod:`gradviz.layout.layered`). The
  first picture of a recorded big graph is collapsed by module
  (``gradviz.core.collapse.default_collapsed``), so it usually stays in dot's range; the
  expanded view of a huge graph is what lands here.

Before either, a graph of repeated module blocks (a transformer's) is laid out one block per
distinct structure (:mod:`gradviz.layout.blocks`), and only the graph of blocks by one of
these engines.
"""

from __future__ import annotations

from .layered import crossings_of_layers
from .scene import Scene

DOT_UP_TO = 1500
#: dot's cost follows its nodes plus the dummy vertices of long edges: past this many in
#: all, even a small graph goes to the layered layout (whose long edges from one source
#: share a trunk). A 1,000-node transformer with tied weights needs 95,000 dummies: dot
#: ran past its 60 s timeout; the layered layout takes 0.2 s.
DOT_WORK_UP_TO = 3000


def choose(scene: Scene) -> tuple[str, dict]:
    """(engine, extra graph attributes) for ``scene``."""
    visible = len(scene.nodes)
    if visible > DOT_UP_TO or visible + crossings_of_layers(scene) > DOT_WORK_UP_TO:
        return "layered", {}
    return "dot", {}
