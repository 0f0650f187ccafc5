"""Graphviz's JSON output (``-Tjson0``) -> :class:`Layout`.

Graphviz works in points with y pointing up; the app and the files want y down. The flip
happens in :func:`flip` and nowhere else (it is its own inverse: the renderer uses it to go
back).
"""

from __future__ import annotations

import json

from .dotsource import cluster_path, key_of
from .drawspec import EDGE_FONTSIZE
from .geometry import ClusterBox, Layout
from .scene import Scene
from .textsize import text_size

POINTS_PER_INCH = 72.0


def flip(y: float, height: float) -> float:
    """Graphviz's y (up, from the bottom) <-> screen y (down, from the top)."""
    return height - y


def _point(text: str, height: float) -> tuple[float, float]:
    x, y = text.split(",")
    return float(x), flip(float(y), height)


def _spline(pos: str, height: float):
    """``"[e,x,y] [s,x,y] p0 p1 ..."`` -> (control points, (arrow base, arrow tip) or None)."""
    items = pos.split()
    tip = None
    while items and items[0][1] == ",":  # the end ("e,") and start ("s,") arrow points
        if items[0][0] == "e":
            tip = _point(items[0][2:], height)
        items.pop(0)
    points = [_point(item, height) for item in items]
    return points, ((points[-1], tip) if tip is not None and points else None)


def to_layout(json_text: bytes | str, scene: Scene, engine: str = "dot") -> Layout:
    data = json.loads(json_text, strict=False)  # Graphviz writes control characters raw
    _, _, width, height = map(float, data["bb"].split(","))
    nodes = dict(scene.nodes)
    clusters = []
    for obj in data.get("objects", ()):
        name = obj["name"]
        if name.startswith("cluster:"):
            path = cluster_path(name)
            x0, y0, x1, y1 = map(float, obj["bb"].split(","))
            clusters.append(ClusterBox(path, x0, flip(y1, height), x1 - x0, y1 - y0, path,
                                       scene.clusters.get(path, 0)))
        elif "pos" in obj:
            box = nodes[key_of(name)]
            box.x, box.y = _point(obj["pos"], height)
            box.width = float(obj["width"]) * POINTS_PER_INCH
            box.height = float(obj["height"]) * POINTS_PER_INCH
    names = {obj["_gvid"]: key_of(obj["name"]) for obj in data.get("objects", ()) if "pos" in obj}
    by_pair = {(e.src, e.dst): e for e in scene.edges}
    for e in data.get("edges", ()):
        edge = by_pair[(names[e["tail"]], names[e["head"]])]
        edge.points, edge.arrow = _spline(e["pos"], height)
        if "lp" in e and edge.flow:  # dot placed its flow label (values mode)
            x, y = _point(e["lp"], height)
            w, h = text_size([edge.flow], EDGE_FONTSIZE)
            edge.flow_box = (x - w / 2, y - h / 2, w, h)
    clusters.sort(key=lambda c: (c.depth, c.path))
    return Layout(nodes, list(scene.edges), clusters, width, height, engine,
                  legend=list(scene.legend))
