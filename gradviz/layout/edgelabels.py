"""Where each flow label goes (values mode): beside its edge, clear of every box, module title
and other label.

``dot`` places them itself: the sized DOT gives each edge with a flow a ``label`` of its text's
size, which dot lays out as a node of its own (its edge runs beside it, other edges around
it), and the parser reads back its ``lp``. (``xlabel`` would keep the layout of the other
modes, but it drops the labels it cannot fit, or with ``forcelabels=true`` overlaps them.)
The layered and blocks layouts place none, so :func:`place` places the rest after layout:
each takes the first spot free of boxes and labels among points along its curve, right of
it, left, at its corners, above and below: one close to its own edge and far from the others
if there is one, else one that crosses no edge, else any; failing all, the nearest free spot
further out. Every flow label is placed, sent yet or not, so that none moves while the
player steps.
"""

from __future__ import annotations

from collections import defaultdict

from .drawspec import (CLUSTER_FONTSIZE, CLUSTER_TITLE_X, CLUSTER_TITLE_Y, EDGE_FONTSIZE,
                       EDGE_LABEL_GAP, EDGE_LINE_HEIGHT, LINE_SPACING, spline_at)
from .geometry import ClusterBox, EdgePath, Layout
from .textsize import text_width

Rect = tuple[float, float, float, float]  # left, top, width, height

#: Where along its curve a label is tried first: the middle, then outwards (where crossing
#: edges are apart again).
FRACTIONS = (0.5, 0.4, 0.6, 0.3, 0.7, 0.2, 0.8, 0.15, 0.85)
#: Points per cubic piece when an edge is cut into straight segments to test crossings.
SAMPLES = 8
#: How many rings of spots round the middle the last resort tries before it gives up on
#: staying near the edge and goes below the picture (a graph too dense to hold its labels).
RINGS = 40
#: A label is best within HUG of its own edge and as far as it can be from every other (the
#: first of MARGINS that some spot keeps), so that where edges cross it is not read as
#: another's.
HUG, MARGINS = 1.5 * EDGE_LABEL_GAP, (3 * EDGE_LABEL_GAP, 2 * EDGE_LABEL_GAP, EDGE_LABEL_GAP)
CELL = 48.0  # the spatial grid's cell, points: about one label wide


def _overlap(a: Rect, b: Rect) -> bool:
    (ax, ay, aw, ah), (bx, by, bw, bh) = a, b
    return ax < bx + bw and bx < ax + aw and ay < by + bh and by < ay + ah


def _crosses(seg, r: Rect) -> bool:
    """Whether the segment ``((x0, y0), (x1, y1))`` meets the open rectangle (Liang-Barsky)."""
    (x0, y0), (x1, y1) = seg
    left, top, w, h = r
    t0, t1 = 0.0, 1.0
    dx, dy = x1 - x0, y1 - y0
    for p, q in ((-dx, x0 - left), (dx, left + w - x0), (-dy, y0 - top), (dy, top + h - y0)):
        if p == 0:
            if q <= 0:
                return False
        else:
            t = q / p
            if p < 0:
                t0 = max(t0, t)
            else:
                t1 = min(t1, t)
            if t0 >= t1:
                return False
    return True


class _Grid:
    """Rectangles (and segments, by their bounds) bucketed by cell, to test a spot against
    its neighbours only: placement stays linear in the number of edges."""

    def __init__(self):
        self.cells: dict[tuple[int, int], list] = defaultdict(list)

    @staticmethod
    def _span(r: Rect):
        left, top, w, h = r
        for i in range(int(left // CELL), int((left + w) // CELL) + 1):
            for j in range(int(top // CELL), int((top + h) // CELL) + 1):
                yield i, j

    def add(self, r: Rect, item=None) -> None:
        for cell in self._span(r):
            self.cells[cell].append(r if item is None else item)

    def near(self, r: Rect):
        for cell in self._span(r):
            yield from self.cells.get(cell, ())


def _title_rect(c: ClusterBox) -> Rect:
    """Where a module cluster's title is written, inside its top left corner."""
    return (c.x + CLUSTER_TITLE_X, c.y + CLUSTER_TITLE_Y, text_width(c.label, CLUSTER_FONTSIZE),
            round(LINE_SPACING * CLUSTER_FONTSIZE))


def _grown(r: Rect, by: float) -> Rect:
    left, top, w, h = r
    return left - by, top - by, w + 2 * by, h + 2 * by


def _segments(e: EdgePath) -> list:
    pieces = max((len(e.points) - 1) // 3, 1)
    pts = [spline_at(e.points, k / (SAMPLES * pieces)) for k in range(SAMPLES * pieces + 1)]
    if e.arrow:
        pts.append(e.arrow[1])
    return list(zip(pts, pts[1:]))


def _spots(e: EdgePath, w: float, h: float):
    """Candidate rectangles for a ``w`` x ``h`` label, best first."""
    gap = EDGE_LABEL_GAP
    for f in FRACTIONS:
        x, y = spline_at(e.points, f)
        right, left, above, below = x + gap, x - gap - w, y - gap - h, y + gap
        yield right, y - h / 2, w, h
        yield left, y - h / 2, w, h
        # the corners: clear of a slanting edge, which leaves its point through two of them
        yield from ((a, b, w, h) for a in (right, left) for b in (above, below))
        yield x - w / 2, above, w, h
        yield x - w / 2, below, w, h


def _rings(e: EdgePath, w: float, h: float):
    """Spots further out round the curve's middle, nearest ring first."""
    x, y = spline_at(e.points, 0.5)
    left, top = x + EDGE_LABEL_GAP, y - h / 2
    step = w / 2 + EDGE_LABEL_GAP
    for r in range(1, RINGS + 1):
        ring = [(i, j) for i in range(-r, r + 1) for j in range(-r, r + 1)
                if max(abs(i), abs(j)) == r]
        ring.sort(key=lambda ij: (abs(ij[0]) * step) ** 2 + (abs(ij[1]) * h) ** 2)
        for i, j in ring:
            yield left + i * step, top + j * h, w, h


def place(layout: Layout) -> None:
    """Set ``flow_box`` on every edge that has a flow text and none yet (dot's are kept), and
    grow the layout's size to hold them."""
    labelled = [e for e in layout.edges if e.flow and e.points]
    if not labelled:
        return
    solid = _Grid()  # boxes, module titles and placed labels: never overlapped
    for box in layout.nodes.values():
        solid.add(box.rect)
    for c in layout.clusters:
        solid.add(_title_rect(c))
    for e in labelled:
        if e.flow_box:  # dot placed it
            solid.add(e.flow_box)
    lines = _Grid()  # edge segments: avoided where a spot allows
    for i, e in enumerate(layout.edges):
        if e.points:
            for seg in _segments(e):
                (x0, y0), (x1, y1) = seg
                lines.add((min(x0, x1), min(y0, y1), abs(x1 - x0), abs(y1 - y0)), (i, seg))

    def free(r: Rect) -> bool:
        return r[0] >= 0 and r[1] >= 0 and not any(_overlap(r, o) for o in solid.near(r))

    def clear(r: Rect) -> bool:
        """Whether ``r`` crosses no edge."""
        return not any(_crosses(seg, r) for _, seg in lines.near(r))

    def plain(r: Rect, own: int, margin: float) -> bool:
        """Whether ``r`` is clear, hugs its own edge and keeps ``margin`` from the others:
        not to be read as another edge's."""
        wide, close = _grown(r, margin), _grown(r, HUG)
        hugs = False
        for i, seg in lines.near(wide):
            if i == own:
                if _crosses(seg, r):
                    return False
                hugs = hugs or _crosses(seg, close)
            elif _crosses(seg, wide):
                return False
        return hugs

    bottom = max((b.y + b.height / 2 for b in layout.nodes.values()), default=0.0)
    for i, e in enumerate(layout.edges):
        if not (e.flow and e.points) or e.flow_box:
            continue
        w, h = text_width(e.flow, EDGE_FONTSIZE), EDGE_LINE_HEIGHT
        spots = [r for r in _spots(e, w, h) if free(r)]
        spot = next((r for m in MARGINS for r in spots if plain(r, i, m)), None)
        spot = spot or next((r for r in spots if clear(r)), None) or (spots[:1] or [None])[0]
        if spot is None:
            spot = next((r for r in _rings(e, w, h) if free(r)), None)
        while spot is None or not free(spot):  # below everything: always free in the end
            spot = (spline_at(e.points, 0.5)[0], bottom + EDGE_LABEL_GAP, w, h)
            bottom += h
        e.flow_box = spot
        solid.add(spot)
    layout.width = max(layout.width, max(e.flow_box[0] + e.flow_box[2] for e in labelled))
    layout.height = max(layout.height, max(e.flow_box[1] + e.flow_box[3] for e in labelled))
