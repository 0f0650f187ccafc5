"""The main window: graph view in the middle, inspector dock beside it, menus and status bar.

The window owns one :class:`gradviz.core.viewmodel.ViewModel` (``window.model``): what is
shown and how. Everything that changes the picture (the menus, the player, the presenter,
search, ``show``) calls ``window.change(**fields)``, which swaps in a changed copy and emits
``model_changed(old, new)``; the window redraws on that one signal, laying out again only
when the graph, the folding or the labels changed and restyling otherwise. Background jobs
get the (frozen) model itself. The window's interface for code that builds on it is
:class:`.window_api.Window`.
"""

from __future__ import annotations

from importlib.util import find_spec

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QApplication, QComboBox, QLabel, QMainWindow, QStackedWidget, QToolBar,
                               QVBoxLayout, QWidget)

from gradviz.core.collapse import default_collapsed, toggled
from gradviz.core.graph import GradGraph
from gradviz.core.keys import NodeKey, RunKey, parse_key
from gradviz.core.runner import Stopped
from gradviz.core.search import search
from gradviz.core.select import first_nonfinite, visible_key
from gradviz.core.session import save
from gradviz.core.viewmodel import PLACING, ViewModel
from gradviz.layout.geometry import Layout

from . import jobs
from .capture import save_widget
from .errors import show_error
from .gallery import Gallery
from .inspector import Inspector
from .live import LiveRun
from .menus import build_menus, insert_action
from .progress import ProgressStrip
from .recent import add_recent
from .search_bar import SearchBar
from .themes import icon, style_sheet
from .view import GraphView
from .workers import Runner


class MainWindow(QMainWindow):
    graph_changed = Signal(object)
    model_changed = Signal(object, object)  # (old, new) ViewModel: the one the window redraws on
    layout_applied = Signal()
    source_failed = Signal(str)

    def __init__(self, theme: str = "light", parent=None):
        super().__init__(parent)
        self.setWindowTitle("gradviz")
        self.setWindowIcon(icon("gradviz"))
        self.resize(1280, 800)
        self.runner = Runner(self)
        self.model = ViewModel(theme=theme)
        self.model_changed.connect(self._on_model_changed)
        self.layout_data: Layout | None = None  # the Layout drawn now
        self.passes: list[GradGraph] = []
        self.last_error = None  # the newest error dialog (tests read it)
        self.path = None  # the script, demo or session shown, for the title and recent files

        self.view = GraphView(theme=theme)
        self.view.describe = self._describe
        self.view.selection_changed.connect(self._on_selection)
        self.view.module_toggled.connect(self._on_module_toggled)
        self.search = SearchBar()
        self.search.query_changed.connect(self._on_query)
        self.search.step.connect(self._on_search_step)
        self.search.closed.connect(lambda: self.view.set_hits(()))
        self._hits: list = []
        self._hit = None
        self.banner = QLabel(objectName="banner", wordWrap=True)
        self.banner.hide()
        self.gallery = Gallery()
        self.gallery.opened.connect(self.open_demo)

        page = QWidget()
        lay = QVBoxLayout(page)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        for w in (self.banner, self.search, self.view):
            lay.addWidget(w)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.gallery)
        self.stack.addWidget(page)
        self.setCentralWidget(self.stack)

        self.inspector = Inspector(self)
        self.addDockWidget(Qt.RightDockWidgetArea, self.inspector)
        self.pass_bar = QToolBar("Backward passes", objectName="passes")
        self.pass_box = QComboBox(minimumContentsLength=24)
        self.pass_box.activated.connect(self._on_pass_chosen)
        self.pass_bar.addWidget(QLabel(" Backward pass: "))
        self.pass_bar.addWidget(self.pass_box)
        self.addToolBar(self.pass_bar)
        self.pass_bar.hide()
        self.statusBar().addPermanentWidget(ProgressStrip(self.runner))
        self.live = LiveRun(self)  # a running script: Stop, follow newest, console, timeline

        build_menus(self)
        self._apply_theme(theme)
        self.inspector.inspect(None, None)
        self.player = None
        if find_spec("gradviz.app.player") is not None:  # the lecture player, when installed
            from .player import install

            install(self)

    # -- the view model: one way in, one signal out ---------------------------------------
    @property
    def graph(self) -> GradGraph | None:
        return self.model.graph

    def change(self, **fields) -> None:
        """Swap in the model with ``fields`` changed and emit ``model_changed`` if it differs."""
        old = self.model
        new = old.changed(**fields)
        if old.differs(new):
            self.model = new
            self.model_changed.emit(old, new)

    def _on_model_changed(self, old: ViewModel, new: ViewModel) -> None:
        changed = old.differs(new)
        if "theme" in changed:
            self._apply_theme(new.theme)
        if "graph" in changed:
            self.layout_data = None
            self.stack.setCurrentIndex(1)
            title = new.graph.info.get("title") or self.path or "graph"
            self.setWindowTitle(f"gradviz — {title}")
            self.inspector.inspect(new.graph, None)
            self._sync_pass_box()
            self.graph_changed.emit(new.graph)
        elif "selection" in changed:
            if self.view.selected != new.selection:
                self.view.select(new.selection)  # its signal comes back and inspects
            else:
                self.inspector.inspect(new.graph, new.selection)
        if new.graph is not None and changed - {"selection"}:
            self._redraw()

    def _apply_theme(self, name: str) -> None:
        self.setStyleSheet(style_sheet(name))
        self.view.set_theme(name)
        self.gallery.set_theme(name)

    # -- what is shown ----------------------------------------------------------------
    def set_graph(self, graph: GradGraph, *, collapsed=None) -> None:
        """Show ``graph``: lay it out in the background (big graphs collapsed by module)."""
        if graph is self.model.graph:  # chosen again: the player starts over, as on a new one
            self.graph_changed.emit(graph)
        self.change(graph=graph, selection=None, state=None, collapsed=frozenset(
            default_collapsed(graph) if collapsed is None else collapsed))

    def set_passes(self, passes: list[GradGraph], *, show_newest: bool = True) -> None:
        """Several backward passes (a training loop): newest first in the selector; the newest
        shown unless ``show_newest`` is False (a running script's passes, see ``live``).

        Each pass keeps the number the runner gave it (``info["index"]``), so that when only
        the newest ``jobs.KEEP_PASSES`` are kept the labels still say which step they were.
        """
        self.passes = list(passes)
        self.pass_box.clear()
        total = max((g.info.get("index", 0) for g in passes), default=0) or len(passes)
        for i in reversed(range(len(passes))):
            index = passes[i].info.get("index", i + 1)
            newest = " (newest)" if i == len(passes) - 1 else ""
            self.pass_box.addItem(f"pass {index} of {total}{newest}", i)
            if len(passes) > 1 and self.path:
                passes[i].info.setdefault("title", f"{self.path}, pass {index}")
        self.pass_box.setToolTip(f"the newest {jobs.KEEP_PASSES} backward passes are kept")
        self.pass_bar.setVisible(len(passes) > 1)
        if show_newest and passes and passes[-1] is not self.model.graph:
            self.set_graph(passes[-1])
        else:
            self._sync_pass_box()

    def _sync_pass_box(self) -> None:
        """The selector on the pass shown (none when it is no longer kept)."""
        rows = [r for r in range(self.pass_box.count())
                if self.passes[self.pass_box.itemData(r)] is self.model.graph]
        self.pass_box.setCurrentIndex(rows[0] if rows else -1)

    def _redraw(self) -> None:
        """Restyle what is drawn (no Graphviz run) when the model places boxes where they
        are; lay out again when the graph, the folding or the labels differ from it."""
        drawn = self.layout_data
        if drawn is None or drawn.model.differs(self.model) & PLACING:
            self.runner.submit("layout", "Laying out the graph…", jobs.layout_job(self.model),
                               self._on_layout, self._on_layout_error)
        else:
            self.runner.submit("layout", "Restyling…", jobs.restyle_job(drawn, self.model),
                               self._on_layout, self._on_layout_error)

    def _on_layout(self, layout) -> None:
        self.layout_data = layout
        self.view.set_layout(layout)
        self.banner.setText("\n".join(layout.warnings))
        self.banner.setVisible(bool(layout.warnings))
        self.view.legend.set_entries("Gradient norm (log scale)", layout.legend)
        self.layout_applied.emit()

    def _on_layout_error(self, exc: BaseException) -> None:
        show_error(self, "Layout failed", exc)

    # -- selection, search, health ----------------------------------------------------
    def select_node(self, node_id: int) -> None:
        """Select a graph node, or the collapsed module box that holds it; scroll to it."""
        if self.layout_data is None:
            return
        key = visible_key(self.layout_data.key_of, self.view.nodes, node_id)
        if key is not None:
            self.change(selection=key)
            self.view.go_to(key)

    def select_when_drawn(self, name: str) -> None:
        """Select the node ``name`` (a name or an op, as ``GradGraph.find``) once it is drawn."""
        def on_drawn():
            self.layout_applied.disconnect(on_drawn)
            self.select_node(self.graph.find(name).id)

        self.layout_applied.connect(on_drawn)

    def jump_to_first_nan(self) -> None:
        nid = first_nonfinite(self.graph) if self.graph is not None else None
        if nid is None:
            self.statusBar().showMessage("No NaN or Inf in any captured gradient.", 5000)
        else:
            self.select_node(nid)

    def _on_selection(self, key) -> None:
        if key == self.model.selection:  # the view selected it again, after a redraw
            self.inspector.inspect(self.graph, key)
        else:
            self.change(selection=key)

    def _on_module_toggled(self, path: str) -> None:
        self.change(collapsed=toggled(self.model.collapsed, path))

    def _on_query(self, text: str) -> None:
        ids = search(self.graph, text) if self.graph is not None and self.layout_data else []
        keys = [visible_key(self.layout_data.key_of, self.view.nodes, i) for i in ids]
        self._hits = list(dict.fromkeys(k for k in keys if k is not None))
        self._hit = None
        self.view.set_hits(self._hits)
        self.search.set_position(None, len(self._hits))

    def _on_search_step(self, delta: int) -> None:
        if not self._hits:
            return
        if self._hit is None:
            self._hit = 0 if delta > 0 else len(self._hits) - 1
        else:
            self._hit = (self._hit + delta) % len(self._hits)
        self.change(selection=self._hits[self._hit])
        self.view.go_to(self._hits[self._hit])
        self.search.set_position(self._hit, len(self._hits))

    def _on_pass_chosen(self, row: int) -> None:
        self.set_graph(self.passes[self.pass_box.itemData(row)])

    def _describe(self, key) -> str:
        typed = parse_key(key)
        if not isinstance(typed, NodeKey):
            kind = "repeated blocks" if isinstance(typed, RunKey) else "collapsed module"
            return f"{self.view.nodes[key].box.lines[0]} ({kind}; double-click to expand)"
        node = self.graph.node(key)
        norm = node.grad_norm
        shape = list(node.shape) if node.shape is not None else "—"
        grad = "not captured" if norm is None else f"{norm:.4g}"
        return f"{node.label}\nop: {node.op}\nshape: {shape}\ngrad norm: {grad}"

    def add_menu_action(self, name: str, act, *, after: str) -> None:
        """Add ``act`` to the menus right after the action ``after`` (see ``actions_by_name``)."""
        insert_action(self, name, act, after)

    # -- opening things ---------------------------------------------------------------
    def open_demo(self, name: str) -> None:
        self.open_source(name, title=f"demo {name}")

    def open_path(self, path: str) -> None:
        """A script or a ``.gradviz`` session, as File ▸ Open and Recent files give them."""
        add_recent(path)
        self.open_source(path)

    def open_source(self, spec: str, argv=(), *, title: str | None = None, **run_options) -> None:
        """Open a script (run unchanged in the background, every backward traced), a demo
        name or a saved session; a failure shows its traceback in a dialog. ``run_options``:
        as :func:`gradviz.core.runner.run_script`'s (``budget``)."""
        self.path = title or spec
        hooks = self.live.begin()
        self.live.started(self.runner.submit(
            "source", f"Opening {self.path}…", jobs.source_job(spec, argv, **hooks, **run_options),
            self._on_passes, self._on_source_error))

    def _on_source_error(self, exc: BaseException) -> None:
        self.live.finished()
        if isinstance(exc, Stopped):  # the user's Stop: no error, the passes so far stay
            self.live.show_stopped(self.path)
            return
        self.last_error = show_error(self, f"Cannot open {self.path}", exc)
        self.source_failed.emit(f"{self.path}: {self.last_error.text()}")

    def _on_passes(self, passes) -> None:
        self.live.finished()
        self.set_passes(passes, show_newest=self.live.following)

    # -- saving things ----------------------------------------------------------------
    def save_session(self, path: str) -> None:
        try:
            save(self.graph, path)
        except Exception as exc:  # noqa: BLE001 - an unwritable path is the user's to fix
            show_error(self, f"Cannot save {path}", exc)
            return
        add_recent(path)
        self.statusBar().showMessage(f"Saved {path}", 5000)

    def export_graph(self, path: str) -> None:
        """The whole graph (every module as now collapsed), via the layout's exporter."""
        self.runner.submit("export", f"Exporting {path}…",
                           jobs.export_job(self.model, path),
                           lambda _: self.statusBar().showMessage(f"Exported {path}", 5000),
                           lambda exc: show_error(self, f"Cannot export {path}", exc))

    def export_view(self, path: str) -> None:
        """The graph view exactly as seen: zoom, selection and highlights included."""
        try:
            save_widget(self.view.viewport(), path)
        except Exception as exc:  # noqa: BLE001
            show_error(self, f"Cannot export {path}", exc)

    def screenshot(self, path: str) -> None:
        """The whole window (view, inspector, menus) as PNG, SVG or PDF, once pending layout
        work (the inspector's second fitting pass) has run."""
        QApplication.processEvents()
        save_widget(self, path)
