"""Graphics items that draw a Layout: nodes, module cluster boxes, and bundles of edges.

Positions come from the Layout as they are (Graphviz points, y down). Painting follows
Qt's "40000 Chips" example: the level of detail from the painter's transform decides how
much to draw, so a fit-to-window view of thousands of nodes paints plain rectangles.
Edges are not one item each: an :class:`EdgeBundle` holds many splines as one cached
path per colour (as pyqtgraph's GraphItem does), and highlighted edges are a second,
smaller bundle drawn on top.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QPainter, QPainterPath, QPen, QPolygonF
from PySide6.QtWidgets import QGraphicsItem, QGraphicsSimpleTextItem, QStyleOptionGraphicsItem

from gradviz.layout.drawspec import (CLUSTER_FONTSIZE, CLUSTER_RADIUS, CLUSTER_TITLE_X,
                                     CLUSTER_TITLE_Y, EDGE_FONTSIZE, FONTSIZE,
                                     LINE_HEIGHT, arrowhead, folder,
                                     line_centres, octagon)
from gradviz.layout.geometry import ClusterBox, EdgePath, NodeBox

#: Below this on-screen scale nodes are filled rectangles (:class:`NodeOverview`), edges one
#: pixel wide without antialiasing.
LOD_PLAIN = 0.25
#: Text is drawn only when a line would be at least this many pixels high.
READABLE_PX = 5.0
# Graphviz sized each box for FONTSIZE-point text, and a scene unit is one point: size the font
# in scene units (pixels at zoom 1), not in screen points, or the text outgrows its box.
FONT = QFont("Sans Serif")
FONT.setPixelSize(FONTSIZE)
CLUSTER_FONT = QFont("Sans Serif")
CLUSTER_FONT.setPixelSize(CLUSTER_FONTSIZE)
EDGE_FONT = QFont("Sans Serif")
EDGE_FONT.setPixelSize(EDGE_FONTSIZE)

Z_CLUSTER, Z_EDGES, Z_HIGHLIGHT_EDGES, Z_NODES = -2, -1, 1, 2
#: Flow labels lie over every edge, the presenter's thick lit ones too, which would hide them.
Z_EDGE_LABELS = Z_NODES - 0.25
EDGES_PER_BUNDLE = 200


def _lod(option: QStyleOptionGraphicsItem, painter) -> float:
    return option.levelOfDetailFromTransform(painter.worldTransform())


def _outline(shape: str, rect: QRectF) -> QPainterPath:
    """The node's outline in the shape Graphviz was told to draw."""
    path = QPainterPath()
    if shape in ("ellipse", "oval", "circle"):
        path.addEllipse(rect)
    elif shape in ("octagon", "doubleoctagon", "folder"):
        corners = (folder if shape == "folder" else octagon)(rect.left(), rect.top(),
                                                             rect.width(), rect.height())
        path.addPolygon(_polygon(corners))
        path.closeSubpath()
    elif shape in ("box", "rect", "rectangle", "square"):
        path.addRect(rect)
    else:  # rounded box for anything else (component, Mrecord ...)
        path.addRoundedRect(rect, 6, 6)
    return path


class NodeItem(QGraphicsItem):
    """One node box: outline in its shape, fill, label lines; marks for selection and search."""

    def __init__(self, box: NodeBox, marks: dict[str, QColor]):
        super().__init__()
        self.key = box.key
        self.marks = marks  # mark -> its colour
        self._rect = QRectF(*box.rect)
        self.mark = None  # None | "selected" | "related" | "hit"
        self.restyle(box)
        self.setZValue(Z_NODES)

    def restyle(self, box: NodeBox) -> None:
        """Take colours and text from ``box`` (a re-styled layout with the same geometry)."""
        self.box = box
        self._path = _outline(box.shape, self._rect)
        self._fill, self._border = QColor(box.fill), QColor(box.border)
        self._text = QColor(box.text)
        self.update()

    def set_mark(self, mark: str | None) -> None:
        if mark != self.mark:
            self.mark = mark
            self.update()

    def boundingRect(self) -> QRectF:
        return self._rect.adjusted(-3, -3, 3, 3)

    def shape(self) -> QPainterPath:
        return self._path

    def paint(self, painter, option, widget=None) -> None:
        lod = _lod(option, painter)
        pen = QPen(self._border, self.box.pen)
        if self.mark == "selected":
            pen = QPen(self.marks["selected"], 3.5)
        elif self.mark:
            style = Qt.DashLine if self.mark == "hit" else Qt.SolidLine
            pen = QPen(self.marks[self.mark], 2.5, style)
        painter.setPen(pen)
        painter.setBrush(QBrush(self._fill))
        painter.drawPath(self._path)
        if LINE_HEIGHT * lod >= READABLE_PX and self.box.lines:
            painter.setPen(self._text)
            painter.setFont(FONT)
            left, width = self._rect.left(), self._rect.width()
            for line, y in zip(self.box.lines, line_centres(self.box.y, len(self.box.lines))):
                if line:
                    painter.drawText(QRectF(left, y - LINE_HEIGHT / 2, width, LINE_HEIGHT),
                                     Qt.AlignCenter | Qt.TextDontClip, line)


class NodeOverview(QGraphicsItem):
    """Every node as a filled rectangle, painted in one call: the far-out picture.

    A Python ``paint`` costs about 10 µs a call, so 5,000 node items cost 50 ms per frame
    even when each draws one rectangle. Below :data:`LOD_PLAIN` the view hands drawing to
    this item (node items keep their shapes for clicks and hover but stop painting).
    """

    def __init__(self, items: list[NodeItem]):
        super().__init__()
        self._items = items
        paths: dict[str, QPainterPath] = {}
        rect = QRectF()
        for item in items:
            paths.setdefault(item.box.fill, QPainterPath()).addRect(item._rect)
            rect = rect.united(item._rect)
        self._paths = [(QColor(fill), path) for fill, path in paths.items()]
        self._rect = rect
        self.setZValue(Z_NODES)
        self.setAcceptedMouseButtons(Qt.NoButton)

    def boundingRect(self) -> QRectF:
        return self._rect

    def paint(self, painter, option, widget=None) -> None:
        for color, path in self._paths:
            painter.fillPath(path, color)
        for item in self._items:
            if item.mark:
                painter.fillRect(item._rect, item.marks[item.mark])


class ClusterItem(QGraphicsItem):
    """An expanded nn.Module: a dashed box with its path; double-click collapses it."""

    def __init__(self, box: ClusterBox):
        super().__init__()
        self.path = box.path
        self.label = box.label
        self._rect = QRectF(box.x, box.y, box.width, box.height)
        self._fill, self._border = QColor(box.fill), QColor(box.border)
        self.setZValue(Z_CLUSTER + box.depth * 0.01)

    def boundingRect(self) -> QRectF:
        return self._rect.adjusted(-1, -1, 1, 1)

    def paint(self, painter, option, widget=None) -> None:
        lod = _lod(option, painter)
        painter.setBrush(self._fill)
        painter.setPen(QPen(self._border, 0, Qt.DashLine))
        painter.drawRoundedRect(self._rect, CLUSTER_RADIUS, CLUSTER_RADIUS)
        if LINE_HEIGHT * lod >= READABLE_PX:
            painter.setPen(self._border.darker(160))
            painter.setFont(CLUSTER_FONT)
            painter.drawText(self._rect.adjusted(CLUSTER_TITLE_X, CLUSTER_TITLE_Y,
                                                 -CLUSTER_TITLE_X, -CLUSTER_TITLE_Y),
                             Qt.AlignLeft | Qt.AlignTop, self.label)


def _spline(points: list[tuple[float, float]]) -> QPainterPath:
    path = QPainterPath(QPointF(*points[0]))
    for i in range(1, len(points) - 2, 3):
        path.cubicTo(QPointF(*points[i]), QPointF(*points[i + 1]), QPointF(*points[i + 2]))
    if len(points) % 3 != 1:  # not a B-spline Graphviz would write: draw a polyline
        for p in points[1:]:
            path.lineTo(QPointF(*p))
    return path


def _polygon(corners: list[tuple[float, float]]) -> QPolygonF:
    return QPolygonF([QPointF(x, y) for x, y in corners])


class EdgeBundle(QGraphicsItem):
    """Many edges as one path per colour, so that thousands cost one paint call.

    Far out (below :data:`LOD_PLAIN`) each edge is one straight segment from its start to
    its end, built at once: its route is thinner than a pixel there anyway. The splines and
    arrowheads are built the first time the bundle is painted close enough to show them,
    so a huge graph's first picture does not wait for millions of control points. The view
    splits a big graph's edges into bands of :data:`EDGES_PER_BUNDLE` so that, zoomed in,
    the scene's index skips the bands that are off screen.
    """

    def __init__(self, edges: list[EdgePath], bounds: QRectF | None = None, *,
                 color: QColor | None = None, width: float = 1.0, z: float = Z_EDGES):
        super().__init__()
        self._edges, self._color, self._width = edges, color, width
        self._far: dict[str, QPainterPath] = {}
        for e in edges:
            if len(e.points) >= 2:
                path = self._far.setdefault(self._name(e), QPainterPath())
                path.moveTo(QPointF(*e.points[0]))
                path.lineTo(QPointF(*(e.arrow[1] if e.arrow else e.points[-1])))
        self._near: list | None = None
        if bounds is None:  # a spline stays inside its control points' box
            xs = [x for e in edges for x, _ in e.points]
            ys = [y for e in edges for _, y in e.points]
            bounds = QRectF(min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)) if xs \
                else QRectF()
        grow = max((self._pen(e) for e in edges), default=width) + 4  # pens and arrowheads
        self._rect = bounds.adjusted(-grow, -grow, grow, grow)
        self.setZValue(z)
        self.setAcceptedMouseButtons(Qt.NoButton)

    def _name(self, e: EdgePath) -> str:
        return self._color.name() if self._color is not None else e.color

    def _pen(self, e: EdgePath) -> float:
        """Its own width (health mode draws the flow's norm), unless the bundle sets one."""
        return self._width if self._color is not None else self._width * e.pen

    def _build_near(self) -> list:
        groups: dict[tuple[str, float], tuple[QPainterPath, QPainterPath]] = {}
        for e in self._edges:
            name = (self._name(e), self._pen(e))
            if name not in groups:
                heads = QPainterPath()
                heads.setFillRule(Qt.WindingFill)  # overlapping arrowheads stay filled
                groups[name] = (QPainterPath(), heads)
            lines, heads = groups[name]
            if len(e.points) >= 2:
                lines.addPath(_spline(e.points))
            if e.arrow is not None:
                heads.addPolygon(_polygon(arrowhead(*e.arrow)))
                heads.closeSubpath()
        return [(QColor(name), pen, lines, heads)
                for (name, pen), (lines, heads) in groups.items()]

    def boundingRect(self) -> QRectF:
        return self._rect

    def paint(self, painter, option, widget=None) -> None:
        if _lod(option, painter) < LOD_PLAIN:
            painter.setRenderHint(QPainter.Antialiasing, False)
            for name, path in self._far.items():
                painter.setPen(QPen(QColor(name), 0))  # cosmetic: one pixel at any scale
                painter.drawPath(path)
            return
        if self._near is None:
            self._near = self._build_near()
        for color, pen, lines, heads in self._near:
            painter.setPen(QPen(color, pen))
            painter.setBrush(Qt.NoBrush)
            painter.drawPath(lines)
            painter.setBrush(color)
            painter.drawPath(heads)


def edge_label(e: EdgePath, color: str) -> QGraphicsSimpleTextItem:
    """The flow an edge carried back, as text beside its middle (values mode)."""
    item = QGraphicsSimpleTextItem(e.label)
    item.setFont(EDGE_FONT)
    item.setBrush(QColor(color))
    x, y = e.label_at
    item.setPos(x, y - item.boundingRect().height() / 2)
    item.setZValue(Z_EDGE_LABELS)
    item.setAcceptedMouseButtons(Qt.NoButton)
    return item
