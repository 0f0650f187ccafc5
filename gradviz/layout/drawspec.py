"""How a laid-out graph is drawn: every shape and size that the four renderers share.

The Qt items (:mod:`gradviz.app.items`), the SVG writer (:mod:`.svg`), the Pillow raster
(:mod:`.raster`) and Graphviz's own PNG/PDF (:mod:`.render`, from DOT that :mod:`.dotsource`
writes) all read these, so a picture looks the same whichever drew it. Graphviz is the one
that cannot be told a shape, only its name and size: the figures here are Graphviz's (an
octagon is its regular octagon stretched to the box, an arrowhead its ``normal`` arrow at
:data:`ARROW_SIZE`, a text line ``round(1.1 * fontsize)`` high as pango makes it), and the
other three draw to them. Units are points, y down. Qt-free: the app imports it.
"""

from __future__ import annotations

import math

Point = tuple[float, float]

FONT = "Helvetica"  # Graphviz resolves it to DejaVu Sans on Linux; :mod:`.textsize` measures that
FONTSIZE = 11
CLUSTER_FONTSIZE = 10
#: Height of one text line, as a multiple of the font size (pango's, measured on ``dot``).
LINE_SPACING = 1.1
LINE_HEIGHT = round(LINE_SPACING * FONTSIZE)

#: DOT's ``arrowsize``: Graphviz's ``normal`` arrowhead is ``10 * arrowsize`` points long...
ARROW_SIZE = 0.7
ARROW_LENGTH = 10 * ARROW_SIZE
#: ... and spreads 0.35 of its length to each side of the line.
ARROW_SPREAD = 0.35

#: Graphviz's octagon: regular, stretched to its box, so each corner cuts this share of the
#: box's width from the top and bottom sides, and of its height from the left and right sides.
OCTAGON_CUT = 1 - math.sqrt(0.5)

#: An edge's flow label (values mode): its font size, its line's height and its least gap to
#: the edge (:mod:`.edgelabels` places it).
EDGE_FONTSIZE = 9
EDGE_LINE_HEIGHT = round(LINE_SPACING * EDGE_FONTSIZE)
EDGE_LABEL_GAP = 4.0

#: The tallest tab of a collapsed module's folder.
FOLDER_TAB = 4.0

#: Module clusters: rounded corners and where their title sits inside the top left.
CLUSTER_RADIUS = 4.0
CLUSTER_TITLE_X, CLUSTER_TITLE_Y = 6.0, 3.0


def octagon(left: float, top: float, width: float, height: float) -> list[Point]:
    """Corners of the octagon an output is drawn as, clockwise from the top left."""
    dx, dy = width * OCTAGON_CUT, height * OCTAGON_CUT
    right, bottom = left + width, top + height
    return [(left + dx, top), (right - dx, top), (right, top + dy), (right, bottom - dy),
            (right - dx, bottom), (left + dx, bottom), (left, bottom - dy), (left, top + dy)]


def folder(left: float, top: float, width: float, height: float) -> list[Point]:
    """Corners of a collapsed module's folder, Graphviz's: the box, and a tab on the right of
    its top side that stands above it (a ninth of the height, at most FOLDER_TAB points)."""
    tab = min(height / 9, FOLDER_TAB)
    right, bottom = left + width, top + height
    return [(left, top), (right - 6.75 * tab, top), (right - 6 * tab, top - tab),
            (right - 0.75 * tab, top - tab), (right, top), (right, bottom), (left, bottom)]


def arrowhead(base: Point, tip: Point) -> list[Point]:
    """Tip and the two back corners of an edge's filled arrowhead, pointing from ``base`` to
    ``tip``. Like Graphviz, its size is fixed (:data:`ARROW_LENGTH`), whatever the distance
    from ``base`` to ``tip`` that the layout left for it."""
    (bx, by), (tx, ty) = base, tip
    scale = ARROW_LENGTH / (math.hypot(tx - bx, ty - by) or 1.0)
    ux, uy = (tx - bx) * scale, (ty - by) * scale
    backx, backy = tx - ux, ty - uy
    wx, wy = -uy * ARROW_SPREAD, ux * ARROW_SPREAD
    return [(tx, ty), (backx + wx, backy + wy), (backx - wx, backy - wy)]


def line_centres(y: float, lines: int) -> list[float]:
    """The vertical centre of each of ``lines`` text lines centred on ``y``."""
    return [y + (i - (lines - 1) / 2) * LINE_HEIGHT for i in range(lines)]


def spline_at(points: list[Point], fraction: float) -> Point:
    """The point ``fraction`` (0..1) of the way along a cubic B-spline (control points
    ``p0, (c1, c2, p)*``), counted in pieces: 0.5 is the middle piece's middle."""
    pieces = (len(points) - 1) // 3
    if pieces < 1:
        return points[min(int(fraction * len(points)), len(points) - 1)]
    at = min(max(fraction, 0.0), 1.0) * pieces
    i = min(int(at), pieces - 1)
    t = at - i
    p0, p1, p2, p3 = points[3 * i:3 * i + 4]
    u = 1 - t
    x, y = (u ** 3 * a + 3 * u * u * t * b + 3 * u * t * t * c + t ** 3 * d
            for a, b, c, d in zip(p0, p1, p2, p3))
    return x, y
