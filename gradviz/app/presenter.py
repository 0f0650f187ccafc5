"""Presenter mode (F5): the graph alone, readable from the back of a lecture hall.

Full screen, every bar hidden but the player's (in large type) and the docks that say they
stay (``property("presenter")``: the backward player's memory chart). Entering it shows the whole
graph fitted to the screen, with values and gradients on graphs small enough to read them
(``lecture_labels``). A step then zooms past 1:1, which the normal fit never does, so that
node text is large, and follows the current node when the whole graph does not fit at that
size. Lines get thick and colours strong: the
drawn Layout is restyled by :func:`high_contrast` (positions untouched), and thick edges are
an extra edge bundle over the view's own, so the window's classes need no presenter code.
"""

from __future__ import annotations

from dataclasses import replace

import shiboken6
from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QDockWidget, QToolBar

from gradviz.core.steps import lecture_labels
from gradviz.layout.geometry import Layout

from .items import Z_EDGES, Z_HIGHLIGHT_EDGES, EdgeBundle
from .window_api import Window

#: Node text is 11-13 units high in the scene: at 2x, 22-26 px on a 1080p projector, which
#: on a 4 m wide screen are 5 cm letters, readable from the back of a hall (about 20 m).
READABLE_SCALE = 2.0
MAX_SCALE = 3.0
FOLLOW_MARGIN = 80  # pixels kept around the current node when the view follows it
FIT_MARGIN = 24  # pixels kept around the whole graph when it is fitted to the screen
EDGE_WIDTH, LIT_EDGE_WIDTH = 3.0, 5.0
PENS = {"current": 4.5, "done": 3.0, "marked": 4.5, None: 2.0}
#: Colours with strong contrast against each theme's background.
CONTRAST = {
    "light": {"background": "#ffffff", "ink": "#000000", "current": "#d9480f", "done": "#1864ab",
              "marked": "#a61e4d"},
    "dark": {"background": "#000000", "ink": "#ffffff", "current": "#ffa94d", "done": "#74c0fc",
             "marked": "#f783ac"},
}
#: The player's toolbar in presenter mode: large type, the only bar left on screen.
TOOLBAR_STYLE = "QToolBar#player, QToolBar#player * { font-size: 22pt; padding: 4px 10px; }"


def high_contrast(layout: Layout) -> Layout:
    """``layout`` with thick borders and strong ink; the player's marks in strong colours."""
    colours = CONTRAST[layout.theme]
    nodes = {key: replace(box, pen=PENS[box.mark], border=colours[box.mark or "ink"])
             for key, box in layout.nodes.items()}
    edges = [replace(e, color=colours["current" if e.mark == "current" else "ink"])
             for e in layout.edges]
    return replace(layout, nodes=nodes, edges=edges, background=colours["background"],
                   ink=colours["ink"])


class Presenter(QObject):
    """Switches ``window`` in and out of presenter mode, keeping ``player`` on screen."""

    def __init__(self, window: Window, player: QToolBar):
        super().__init__(player)
        self.window, self.player = window, player
        self.on = False
        self._hidden: list = []  # the bars hidden on entry, shown again on exit
        self._overlays: list = []
        self._was_maximized = False
        self._values_on = False  # whether entering turned the values labels on
        self._target = None  # what the view frames: a step's node, None the whole graph
        self._plain_style = player.styleSheet()
        window.view.viewport().installEventFilter(self)

    def eventFilter(self, watched, event) -> bool:
        """Full screen arrives after a resize: frame again once the view has its new size."""
        if self.on and event.type() == QEvent.Resize:
            self.frame(self._target)
        return False

    def set_on(self, on: bool) -> None:
        if on == self.on:
            return
        self.on = on
        w = self.window
        if on:
            docks = [d for d in w.findChildren(QDockWidget) if not d.property("presenter")]
            bars = [w.menuBar(), w.statusBar(), w.search, *docks,
                    *(t for t in w.findChildren(QToolBar) if t is not self.player)]
            self._hidden = [bar for bar in bars if bar.isVisible()]
            for bar in self._hidden:
                bar.hide()
            self.player.setStyleSheet(self._plain_style + TOOLBAR_STYLE)
            self._was_maximized = w.isMaximized()
            w.showFullScreen()
            values = self.player.acts["values"]
            self._values_on = (w.graph is not None and not values.isChecked()
                               and lecture_labels(w.graph) == "values")
            if self._values_on:  # a new layout: on_drawn fits it once drawn
                values.setChecked(True)
        else:
            for bar in self._hidden:
                bar.show()
            self.player.setStyleSheet(self._plain_style)
            if self._was_maximized:
                w.showMaximized()
            else:
                w.showNormal()
            if self._values_on:
                self.player.acts["values"].setChecked(False)
            self._values_on = False
        self.on_drawn()
        self.frame(None if on else self.player.current_key)

    def on_drawn(self) -> None:
        """Restyle what the window just drew (or undo that when presenter mode is off)."""
        w = self.window
        for item in self._overlays:
            if shiboken6.isValid(item) and item.scene() is not None:
                item.scene().removeItem(item)
        self._overlays = []
        if w.layout_data is None:
            return
        if not self.on:
            if w.view.layout_data is not w.layout_data:
                w.view.set_layout(w.layout_data)
            return
        strong = high_contrast(w.layout_data)
        w.view.set_layout(strong)
        lit = [e for e in strong.edges if e.mark == "current"]
        for edges, width, z in ((strong.edges, EDGE_WIDTH, Z_EDGES + 0.5),
                                (lit, LIT_EDGE_WIDTH, Z_HIGHLIGHT_EDGES + 0.5)):
            if edges:
                item = EdgeBundle(edges, width=width, z=z)
                w.view.add_overlay(item)
                self._overlays.append(item)
        self.frame(self._target)  # a new layout (the values labels) has its own size

    def frame(self, key) -> None:
        """Show ``key`` (None: the whole graph): centred, and large in presenter mode where
        the whole graph is fitted to the screen (at most :data:`MAX_SCALE`)."""
        self._target = key
        view = self.window.view
        if not self.on:
            if key is None:
                view.fit()
            elif key in view.nodes:  # scroll only as far as needed to bring it in
                view.ensureVisible(view.nodes[key], FOLLOW_MARGIN, FOLLOW_MARGIN)
            return
        rect = view.scene().itemsBoundingRect()
        if rect.isEmpty():
            return
        port = view.viewport().rect().adjusted(FIT_MARGIN, FIT_MARGIN, -FIT_MARGIN, -FIT_MARGIN)
        fit = min(port.width() / rect.width(), port.height() / rect.height())
        scale = min(fit if key is None else max(fit, READABLE_SCALE), MAX_SCALE)
        view.resetTransform()
        view.scale(scale, scale)
        if key is None or scale <= fit:
            view.centerOn(rect.center())
        else:
            view.center_on(key)
