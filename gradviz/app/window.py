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
from gradviz.core.diagnoses.nonfinite import nonfinite_nodes
from gradviz.core.diagnosis import Finding
from gradviz.core.diff import DiffGraph
from gradviz.core.graph import GradGraph
from gradviz.core.keys import NodeKey, RunKey, parse_key
from gradviz.core.runner import Stopped
from gradviz.core.search import search
from gradviz.core.select import visible_key
from gradviz.core.session import save
from gradviz.core.viewmodel import PLACING, Colouring, ViewModel
from gradviz.layout import diffstyle
from gradviz.layout.geometry import Layout
from gradviz.sources import SESSION_SUFFIX

from . import jobs
from .capture import save_widget
from .diagnosis_bar import DiagnosisBar
from .compare import install as install_compare, open_files
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

#: The legend's heading per colouring.
LEGEND_TITLES = {Colouring.HEALTH: "Gradient norm (log scale)",
                 Colouring.MEMORY: "Saved for backward (log scale)"}


class MainWindow(QMainWindow):
    graph_changed = Signal(object)
    model_changed = Signal(object, object)  # (old, new) ViewModel: the one the window redraws on
    layout_applied = Signal()
    source_failed = Signal(str)
    diagnosed = Signal(object)  # the findings about the graph shown, once worked out

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
        self.diagnosis = DiagnosisBar()
        self.diagnosis.show_me.connect(self._on_show_me)
        self.diagnosis.dismissed.connect(lambda: self.change(marked=frozenset()))
        self.findings: list[Finding] = []  # about the graph shown (see gradviz.core.diagnosis)
        self.error: BaseException | None = None  # what the script raised after its newest pass
        self._nan_step = -1  # Ctrl+N: the non-finite node shown last
        self._nan_nodes: list[int] | None = None  # Ctrl+N's round, found at its first press
        self._undiagnosed = None  # (graph, error) to diagnose once its first picture is drawn
        self.gallery = Gallery()
        self.gallery.opened.connect(self.open_demo)

        page = QWidget()
        lay = QVBoxLayout(page)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        for w in (self.diagnosis, self.banner, self.search, self.view):
            lay.addWidget(w)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.gallery)
        self.stack.addWidget(page)
        self.setCentralWidget(self.stack)

        self.inspector = Inspector(self, self.runner)
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
        install_compare(self)

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
    def set_graph(self, graph: GradGraph, *, collapsed=None,
                  error: BaseException | None = None) -> None:
        """Show ``graph``: lay it out in the background (big graphs collapsed by module), and
        diagnose it with ``error``, what the script raised (shown as is when unrecognised)."""
        if graph is self.model.graph:  # chosen again: the player starts over, as on a new one
            self.graph_changed.emit(graph)
        self._diagnose(graph, error)  # first: the inspector shows no finding of the last graph
        colouring = self.model.colouring
        if colouring is Colouring.DIFF and not isinstance(graph, DiffGraph):
            colouring = Colouring.NONE  # one pass chosen after a comparison
        self.change(graph=graph, selection=None, state=None, marked=frozenset(),
                    colouring=colouring,
                    collapsed=frozenset(default_collapsed(graph) if collapsed is None
                                        else collapsed))
        if self.layout_data is not None and self.layout_data.model.graph is graph:
            self._start_diagnosis()  # drawn already: no new picture to wait for

    def set_passes(self, passes: list[GradGraph], run=None, *, show_newest: bool = True,
                   error: BaseException | None = None) -> None:
        """Several backward passes (a training loop): newest first in the selector; the newest
        shown unless ``show_newest`` is False (a running script's passes, see ``live``); all
        of them to compare (``run``: the Run they came from, for its history; ``error``: what
        the script raised after the newest).

        Each pass keeps the number the runner gave it (``info["index"]``), so that when only
        the newest ``jobs.KEEP_PASSES`` are kept the labels still say which step they were.
        """
        self.passes = list(passes)
        self.pass_box.clear()
        total = max((g.info.get("index", 0) for g in passes), default=0) or len(passes)
        for i in reversed(range(len(passes))):
            index = passes[i].info.get("index", i + 1)
            newest = " (newest)" if i == len(passes) - 1 else ""
            origin = passes[i].info.get("origin")  # one of several files opened together
            where = f"{origin} " if origin else ""
            self.pass_box.addItem(f"{where}pass {index} of {total}{newest}", i)
            if len(passes) > 1 and self.path:
                passes[i].info.setdefault("title", f"{self.path}, pass {index}")
        self.pass_box.setToolTip(f"the newest {jobs.KEEP_PASSES} backward passes are kept")
        self.pass_bar.setVisible(len(passes) > 1)
        self.error = error
        self.compare.set_passes(passes, run)
        if error is not None or show_newest and passes and passes[-1] is not self.model.graph:
            self.set_graph(passes[-1], error=error)
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
        self._start_diagnosis()
        self.layout_data = layout
        self.view.set_layout(layout)
        self.banner.setText("\n".join(layout.warnings))
        self.banner.setVisible(bool(layout.warnings))
        title = LEGEND_TITLES.get(layout.model.colouring, "")
        if layout.model.colouring is Colouring.DIFF:
            title = diffstyle.title(layout.model.graph.diff, layout.model.diff_measure)
        self.view.legend.set_entries(title, layout.legend)
        self.layout_applied.emit()

    def _on_layout_error(self, exc: BaseException) -> None:
        self._start_diagnosis()
        show_error(self, "Layout failed", exc)

    # -- diagnosis (gradviz.core.diagnosis) -------------------------------------------
    def _diagnose(self, graph: GradGraph, error: BaseException | None) -> None:
        """Forget the last graph's findings; work out this one's in the background once it is
        drawn ("show me" needs the picture, and the layout runs without sharing the CPU)."""
        self.findings, self._nan_step, self._nan_nodes = [], -1, None
        self.diagnosis.set_findings([], None)
        self.inspector.set_findings([], None, None)
        self._undiagnosed = (graph, error)

    def _start_diagnosis(self) -> None:
        if self._undiagnosed is None or self._undiagnosed[0] is not self.graph:
            return
        graph, error = self._undiagnosed
        self._undiagnosed = None
        self.runner.submit("diagnosis", "Diagnosing…", jobs.diagnosis_job(graph, error),
                           lambda found: self._on_findings(graph, error, *found),
                           lambda exc: self._on_findings(graph, error, [], None, None, exc))

    def _on_findings(self, graph, error, findings, scale: str | None, nan_nodes,
                     failed: BaseException | None = None) -> None:
        if graph is not self.graph:
            return
        if failed is not None:
            self.statusBar().showMessage(f"Diagnosis failed: {failed}", 10000)
        self.findings = findings
        self._nan_nodes = self._nan_nodes if nan_nodes is None else nan_nodes
        self.diagnosis.set_findings(findings, error)
        self.inspector.set_findings(findings, error, scale)
        self.inspector.inspect(graph, self.inspector.key)
        self.diagnosed.emit(findings)

    def _on_show_me(self, finding: Finding, node_id: int) -> None:
        self.change(marked=frozenset(finding.nodes))
        self.select_node(node_id)

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

    def jump_to_next_nan(self) -> None:
        """Ctrl+N: the next node holding a NaN or an Inf, the forward and backward origins
        first (:func:`~gradviz.core.diagnoses.nonfinite.nonfinite_nodes`), round again after
        the last; a folded box once however many it holds."""
        if self.graph is None or self.layout_data is None:
            return
        if self._nan_nodes is None:  # pressed before the diagnosis came in
            self._nan_nodes = nonfinite_nodes(self.graph)
        keys = [visible_key(self.layout_data.key_of, self.view.nodes, n) for n in self._nan_nodes]
        keys = list(dict.fromkeys(k for k in keys if k is not None))
        if not keys:
            self.statusBar().showMessage("No NaN or Inf in any recorded value or captured "
                                         "gradient.", 5000)
            return
        self._nan_step = (self._nan_step + 1) % len(keys)
        self.change(selection=keys[self._nan_step])
        self.view.go_to(keys[self._nan_step])
        self.statusBar().showMessage(f"NaN or Inf {self._nan_step + 1} of {len(keys)} "
                                     "(Ctrl+N: next)", 5000)

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
        graph = self.passes[self.pass_box.itemData(row)]
        self.set_graph(graph, error=self.error if graph is self.passes[-1] else None)

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
        """A script or a ``.gradviz`` session or run file, as File ▸ Open and Recent files
        give them."""
        if path.endswith(SESSION_SUFFIX):
            open_files(self, [path])  # a run file brings its history
            return
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
        """A script whose backward raised shows the passes it traced, the one that raised
        newest, under the diagnosis bar (the exception as raised, its traceback, what went
        wrong); the user's Stop keeps the passes so far; any other failure is the error
        dialog."""
        self.live.finished()
        if getattr(exc, "graph", None) is not None:
            self.set_passes(exc.passes, self.live.run, error=exc)
            return
        if isinstance(exc, Stopped):  # the user's Stop: no error, the passes so far stay
            self.live.show_stopped(self.path)
            return
        self.last_error = show_error(self, f"Cannot open {self.path}", exc)
        self.source_failed.emit(f"{self.path}: {self.last_error.text()}")

    def _on_passes(self, passes) -> None:
        self.live.finished()
        self.set_passes(passes, self.live.run, show_newest=self.live.following)

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
