"""Layouts remembered by a hash of what decides positions (keys, label text, shapes, edges and
their flow labels, clusters, engine settings), not of colours or player state.

A training loop's passes share one structure, the app re-lays out the same graph after a
theme or colouring change, and an export after the window showed the graph: all of these
reuse the positions instead of running ``dot`` again.
"""

from __future__ import annotations

import copy
import hashlib
from collections import OrderedDict
from dataclasses import dataclass

from .geometry import Layout
from .scene import Scene

SIZE = 16


@dataclass(frozen=True)
class Placement:
    """Positions only: boxes by key, edge curves and flow labels by (src, dst), clusters,
    size."""

    boxes: dict
    curves: dict
    flow_boxes: dict
    clusters: tuple
    width: float
    height: float
    engine: str
    warnings: tuple


_store: "OrderedDict[str, Placement]" = OrderedDict()


def structure_hash(scene: Scene, engine: str, settings: dict) -> str:
    h = hashlib.blake2b(digest_size=16)
    h.update(repr((engine, sorted(settings.items()), sorted(scene.clusters.items()))).encode())
    for key, box in scene.nodes.items():
        h.update(repr((key, box.lines, box.shape, box.cluster)).encode())
    for e in scene.edges:
        h.update(repr((e.src, e.dst, e.flow)).encode())
    return h.hexdigest()


def placement(layout: Layout) -> Placement:
    return Placement({k: (b.x, b.y, b.width, b.height) for k, b in layout.nodes.items()},
                     {(e.src, e.dst): (tuple(e.points), e.arrow) for e in layout.edges},
                     {(e.src, e.dst): e.flow_box for e in layout.edges if e.flow_box},
                     tuple(copy.copy(c) for c in layout.clusters), layout.width, layout.height,
                     layout.engine, tuple(layout.warnings))


def get(digest: str) -> Placement | None:
    found = _store.get(digest)
    if found is not None:
        _store.move_to_end(digest)
    return found


def put(digest: str, layout: Layout) -> None:
    _store[digest] = placement(layout)
    while len(_store) > SIZE:
        _store.popitem(last=False)


def adopt(placed: Placement, scene: Scene) -> Layout:
    """``scene``'s boxes and edges at the positions of ``placed`` (same keys, same edges)."""
    for key, box in scene.nodes.items():
        box.x, box.y, box.width, box.height = placed.boxes[key]
    for e in scene.edges:
        points, e.arrow = placed.curves[(e.src, e.dst)]
        e.points = list(points)
        e.flow_box = placed.flow_boxes.get((e.src, e.dst)) if e.flow else None
    return Layout(dict(scene.nodes), list(scene.edges), [copy.copy(c) for c in placed.clusters],
                  placed.width, placed.height, placed.engine, list(placed.warnings),
                  list(scene.legend))
