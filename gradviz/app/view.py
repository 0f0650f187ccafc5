"""The graph view: draws a Layout, and turns clicks, wheel and keys into selection and zoom.

Selection is decided here from real positions (a click that did not drag selects the node
under it, an empty click clears); what a selection highlights is computed by
``gradviz.core.select`` on the layout's visible edges.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QPoint, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QCursor, QPainter
from PySide6.QtWidgets import QGraphicsItem, QGraphicsScene, QGraphicsView, QToolTip

from gradviz.core.keys import ModuleKey, RunKey, parse_key
from gradviz.core.select import incident, reachable
from gradviz.layout.geometry import Layout

from .items import (EDGES_PER_BUNDLE, LOD_PLAIN, Z_HIGHLIGHT_EDGES, ClusterItem, EdgeBundle,
                    NodeItem, NodeOverview, edge_label)
from .legend import Legend
from .themes import THEMES, Theme

ZOOM_STEP = 1.25
MAX_SCALE = 8.0
MAX_FIT = 1.6  # a small graph is fitted larger than 1:1, but not blown up
FIT_MARGIN = 24  # pixels around the graph when fitting
#: Going to a node (search, ``--select``, the first NaN) zooms in at least this far: fitted to
#: the window, a big graph's nodes are specks.
FOCUS_SCALE = 1.0
CLICK_SLOP = 4  # a press and release closer than this is a click, not a pan
BAND_MARGIN = 40.0  # points: how far an edge may bulge past its ends' ranks


def _same_geometry(a: Layout, b: Layout) -> bool:
    if a.nodes.keys() != b.nodes.keys() or len(a.edges) != len(b.edges):
        return False
    return all(box.rect == b.nodes[k].rect for k, box in a.nodes.items())


class GraphView(QGraphicsView):
    """Zoom about the cursor, pan by dragging, fit; click selects, double-click folds a module.

    The keys (``F``, ``+``, ``-``) are the window's View menu shortcuts.
    """

    selection_changed = Signal(object)  # the selected key, or None
    # module path (double-click on its cluster or folded box), or a folded run's key
    module_toggled = Signal(str)

    def __init__(self, parent=None, theme: str = "light"):
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self.setRenderHints(QPainter.Antialiasing | QPainter.TextAntialiasing)
        self.setDragMode(QGraphicsView.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.NoAnchor)
        self.setResizeAnchor(QGraphicsView.AnchorViewCenter)
        self.setOptimizationFlags(QGraphicsView.DontSavePainterState)
        self.setFocusPolicy(Qt.StrongFocus)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.layout_data: Layout | None = None
        self.nodes: dict = {}  # key -> NodeItem
        self._far = None  # zoomed out so far that NodeOverview paints the nodes
        self.selected = None
        self.lineage = False  # also highlight everything upstream and downstream
        self.describe = None  # key -> tooltip text; set by the window
        self._hits: set = set()
        self._overlays: list = []
        self._press: QPoint | None = None
        self.legend = Legend(self)  # colour legend over the bottom-left corner
        self._fitted: float | None = None  # the scale fit() chose, while the user has not zoomed
        self._marks: dict[str, QColor] = {}
        self.set_theme(theme)

    # -- content ----------------------------------------------------------------------
    def set_theme(self, name: str) -> None:
        self.theme: Theme = THEMES[name]
        # updated in place: every NodeItem holds this dict, so a theme change reaches them all
        self._marks.update(selected=QColor(self.theme.accent), related=QColor(self.theme.related),
                           hit=QColor(self.theme.accent))
        self.scene().update()

    def set_layout(self, layout: Layout) -> None:
        """Draw ``layout``; if only its styling changed, recolour the items in place."""
        old = self.layout_data
        self.layout_data = layout
        self.setBackgroundBrush(QColor(layout.background))
        if old is not None and _same_geometry(old, layout):
            for key, item in self.nodes.items():
                item.restyle(layout.nodes[key])
            for item in (*self._edges, self._overview):
                self.scene().removeItem(item)
            self._add_bundles(layout)
        else:
            self._rebuild(layout)
        keep = self.selected if self.selected in self.nodes else None
        self.selected = None
        self.select(keep)

    def _rebuild(self, layout: Layout) -> None:
        scene = self.scene()
        self._overlays = []
        scene.clear()
        for box in layout.clusters:
            scene.addItem(ClusterItem(box))
        self.nodes = {}
        for key, box in layout.nodes.items():
            item = NodeItem(box, self._marks)
            self.nodes[key] = item
            scene.addItem(item)
        self._far = None
        self._add_bundles(layout)
        # room to pan past the edges, so that zooming about the cursor can always keep the
        # point under it in place (scroll bars are off: drag pans, F fits)
        pad = max(layout.width, layout.height, 2000)
        scene.setSceneRect(self._bounds(layout).adjusted(-pad, -pad, pad, pad))
        self.fit()

    def _add_bundles(self, layout: Layout) -> None:
        """Edges in bands from top to bottom (each one item), and the far-out node picture."""
        edges = sorted((e for e in layout.edges if e.points), key=lambda e: e.points[0][1])
        bands = [edges[i:i + EDGES_PER_BUNDLE] for i in range(0, len(edges), EDGES_PER_BUNDLE)]
        self._edges = [EdgeBundle(band, self._band_bounds(band, layout)) for band in bands]
        self._edges += [edge_label(e, layout.ink) for e in edges if e.label_at]  # values mode
        self._overview = NodeOverview(list(self.nodes.values()))
        self._overview.setVisible(bool(self._far))
        for item in (*self._edges, self._overview):
            self.scene().addItem(item)

    @staticmethod
    def _band_bounds(band, layout: Layout) -> QRectF:
        """The layout's full width, and the band's heights from its edges' ends: a layered
        picture's edges run between their ends' ranks (the margin covers the bulges), so
        this box holds them without reading every control point of a huge graph."""
        ys = [y for e in band for y in (e.points[0][1], e.points[-1][1])]
        top, bottom = min(ys) - BAND_MARGIN, max(ys) + BAND_MARGIN
        return QRectF(-BAND_MARGIN, top, layout.width + 2 * BAND_MARGIN, bottom - top)

    def _update_lod(self) -> None:
        """Far out, one item paints every node; close in, each node paints itself."""
        far = self.scale_factor() < LOD_PLAIN
        if far != self._far and self.nodes:
            self._far = far
            for item in self.nodes.values():
                item.setFlag(QGraphicsItem.ItemHasNoContents, far)
            self._overview.setVisible(far)

    # -- selection and highlights -----------------------------------------------------
    def select(self, key) -> None:
        """Select ``key`` (None clears): mark it, its edges, and its lineage when that is on."""
        if key is not None and key not in self.nodes:
            raise KeyError(f"{key!r} is not drawn in this view")
        self.selected = key
        self._apply_marks()
        self.selection_changed.emit(key)

    def add_overlay(self, item) -> None:
        """Draw ``item`` over the layout (the presenter's thick edges); its owner removes it."""
        self.scene().addItem(item)

    def set_lineage(self, on: bool) -> None:
        self.lineage = on
        self._apply_marks()

    def set_hits(self, keys) -> None:
        """Mark search hits (dashed outline)."""
        self._hits = set(keys)
        self._apply_marks()

    def _apply_marks(self) -> None:
        for item in self._overlays:
            self.scene().removeItem(item)
        self._overlays = []
        key, layout = self.selected, self.layout_data
        related: set = set()
        if key is not None and self.lineage:
            edges = [(e.src, e.dst) for e in layout.edges]
            related = reachable(edges, key, forward=True) | reachable(edges, key, forward=False)
        for k, item in self.nodes.items():
            item.set_mark("selected" if k == key else "related" if k in related
                          else "hit" if k in self._hits else None)
        if key is None:
            return
        if related:
            chain = related | {key}
            self._overlay([e for e in layout.edges if e.src in chain and e.dst in chain],
                          self._marks["related"], 1.8)
        own = [layout.edges[i] for i in incident([(e.src, e.dst) for e in layout.edges], key)]
        self._overlay(own, self._marks["selected"], 2.5)

    @staticmethod
    def _bounds(layout: Layout | None) -> QRectF:
        """The drawing's extent (a margin for splines that bulge past Graphviz's box)."""
        if layout is None:
            return QRectF()
        return QRectF(0, 0, layout.width, layout.height).adjusted(-20, -20, 20, 20)

    def _overlay(self, edges, color: QColor, width: float) -> None:
        if edges:
            item = EdgeBundle(edges, color=color, width=width, z=Z_HIGHLIGHT_EDGES)
            self.scene().addItem(item)
            self._overlays.append(item)

    # -- navigation -------------------------------------------------------------------
    def center_on(self, key) -> None:
        self.centerOn(self.nodes[key])

    def go_to(self, key) -> None:
        """Bring ``key`` into view: zoomed in and centred where it would be too small to
        read, centred where it is off screen; a node already in view at a readable size stays
        where it is, so that the picture does not jump under the user's eyes."""
        if self.scale_factor() < FOCUS_SCALE:
            self.resetTransform()
            self.scale(FOCUS_SCALE, FOCUS_SCALE)
        elif self.mapToScene(self.viewport().rect()).boundingRect().contains(
                self.nodes[key].sceneBoundingRect()):
            return
        self.center_on(key)

    def fit(self) -> None:
        """The whole graph in the window with a margin, enlarged at most to MAX_FIT."""
        rect = self._bounds(self.layout_data)
        if rect.isEmpty():
            return
        view = self.viewport().rect().adjusted(FIT_MARGIN, FIT_MARGIN, -FIT_MARGIN, -FIT_MARGIN)
        s = min(view.width() / rect.width(), view.height() / rect.height(), MAX_FIT)
        self.resetTransform()
        self.scale(s, s)
        self.centerOn(rect.center())
        self._fitted = s

    def scale_factor(self) -> float:
        return self.transform().m11()

    # every way to change the zoom updates the level of detail (the presenter calls these)
    def scale(self, sx: float, sy: float) -> None:
        super().scale(sx, sy)
        self._update_lod()

    def resetTransform(self) -> None:
        super().resetTransform()
        self._update_lod()

    def setTransform(self, matrix, combine: bool = False) -> None:
        super().setTransform(matrix, combine)
        self._update_lod()

    def zoom(self, factor: float, anchor: QPoint | None = None) -> None:
        """Zoom by ``factor`` keeping the scene point under ``anchor`` (viewport px) in place."""
        rect = self._bounds(self.layout_data)
        view = self.viewport().rect()
        low = min(view.width() / max(rect.width(), 1), view.height() / max(rect.height(), 1), 1) / 2
        s = self.scale_factor()
        factor = min(max(s * factor, low), MAX_SCALE) / s
        anchor = anchor if anchor is not None else view.center()
        before = self.mapToScene(anchor)
        self.scale(factor, factor)
        # keep `before` under the anchor: move the centre by how far it drifted
        drift = self.mapToScene(anchor) - before
        self.centerOn(self.mapToScene(view.center()) - drift)

    def zoom_at_cursor(self, zoom_in: bool) -> None:
        """``+``/``-``: zoom about the mouse cursor when it is over the view, else the centre."""
        cursor = self.viewport().mapFromGlobal(QCursor.pos())
        anchor = cursor if self.viewport().rect().contains(cursor) else None
        self.zoom(ZOOM_STEP if zoom_in else 1 / ZOOM_STEP, anchor)

    def key_at(self, pos: QPoint):
        for item in self.items(pos):
            if isinstance(item, NodeItem):
                return item.key
        return None

    # -- Qt event handlers (Qt's names) ------------------------------------------------
    def wheelEvent(self, event) -> None:
        steps = event.angleDelta().y() / 120
        if steps:
            self.zoom(ZOOM_STEP ** steps, event.position().toPoint())

    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key_Escape and self.selected is not None:
            self.select(None)
        else:
            super().keyPressEvent(event)

    def mousePressEvent(self, event) -> None:
        self._press = event.position().toPoint()
        super().mousePressEvent(event)

    def mouseReleaseEvent(self, event) -> None:
        super().mouseReleaseEvent(event)
        pos = event.position().toPoint()
        if event.button() == Qt.LeftButton and self._press is not None \
                and (pos - self._press).manhattanLength() <= CLICK_SLOP:
            self.select(self.key_at(pos))
        self._press = None

    def mouseDoubleClickEvent(self, event) -> None:
        pos = event.position().toPoint()
        key = self.key_at(pos)
        typed = parse_key(key) if key is not None else None
        if isinstance(typed, (ModuleKey, RunKey)):  # a run's box is toggled by its key
            self.module_toggled.emit(typed.path if isinstance(typed, ModuleKey) else key)
            return
        if key is None:
            for item in self.items(pos):
                if isinstance(item, ClusterItem):
                    self.module_toggled.emit(item.path)
                    return
        super().mouseDoubleClickEvent(event)

    def resizeEvent(self, event) -> None:
        """Keep the legend in its corner; a picture still as fitted (not zoomed since) is
        fitted again, so a bar appearing above the view never cuts its top off."""
        super().resizeEvent(event)
        self.legend.move(10, self.height() - self.legend.height() - 10)
        if self._fitted is not None and self.scale_factor() == self._fitted:
            self.fit()

    def viewportEvent(self, event) -> bool:
        if event.type() == QEvent.ToolTip:
            key = self.key_at(event.pos())
            if key is not None and self.describe is not None:
                QToolTip.showText(event.globalPos(), self.describe(key), self)
            else:
                QToolTip.hideText()
            return True
        return super().viewportEvent(event)
