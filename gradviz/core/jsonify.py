"""The JSON form of a graph (the ``.json`` export): plain, documented, parseable anywhere.

Non-finite numbers are written the way strict JSON parsers accept: stats as ``null``,
data entries as the strings ``"NaN"``, ``"Infinity"``, ``"-Infinity"``.
"""

from __future__ import annotations

import json
import math

from .flows import captured, flow_snapshot
from .graph import GradGraph
from .memory import export_dict
from .snapshot import Snapshot


def _finite_or_none(x):
    return x if isinstance(x, int) or math.isfinite(x) else None


def _clean(data):
    if isinstance(data, list):
        return [_clean(x) for x in data]
    if isinstance(data, float) and not math.isfinite(data):
        return "NaN" if math.isnan(data) else ("Infinity" if data > 0 else "-Infinity")
    return data


def snapshot_dict(snap: Snapshot | None) -> dict | None:
    if snap is None:
        return None
    return {
        "shape": list(snap.shape),
        "dtype": snap.dtype,
        "stats": {k: _finite_or_none(v) for k, v in snap.stats.items()} or None,
        "data": _clean(snap.tolist()),
    }


def graph_dict(graph: GradGraph) -> dict:
    """``{"nodes": [...], "edges": [[from, to], ...]}`` as in the design's schema."""
    nodes = []
    for n in graph.nodes:
        shape = n.shape
        nodes.append({
            "id": n.id, "kind": n.kind, "op": n.op, "name": n.name,
            "shape": list(shape) if shape is not None else None, "dtype": n.dtype,
            "module": n.module, "source": n.source, "order": n.order,
            "value": snapshot_dict(n.value_snapshot),
            "grad": snapshot_dict(n.grad_snapshot),
            "saved_bytes": n.saved_bytes,
        })
    edges = sorted({(src, dst) for src, dst, _ in graph.edges})
    return {"nodes": nodes, "edges": [list(e) for e in edges], "flows": flows_list(graph),
            "memory": export_dict(graph)}


def flows_list(graph: GradGraph) -> list[dict] | None:
    """The gradient sent along each edge, one entry per edge (``x * x`` has two):
    ``{"from", "to", "output_nr", "grad": SNAP|null}``; None where flows were not captured."""
    if not captured(graph):
        return None
    return [{"from": src, "to": dst, "output_nr": nr,
             "grad": snapshot_dict(flow_snapshot(graph, e))}
            for e, (src, dst, nr) in enumerate(graph.edges)]


def to_json(graph: GradGraph) -> str:
    return json.dumps(graph_dict(graph), allow_nan=False)
