"""What code that builds on the main window (the player, the presenter, ``show``, ``launch``,
tests) may use of it: a typed interface instead of a docstring, checked by type checkers.

Everything that changes the picture goes through :meth:`Window.change`; the window redraws
on ``model_changed``. Signals: ``graph_changed(graph)`` when a new graph is shown,
``model_changed(old, new)`` on every change of the view model, ``layout_applied()`` each time
a layout has been drawn (wait for it before selecting in a freshly opened graph),
``source_failed(str)`` when a script or session could not be opened (after the error dialog),
``diagnosed(findings)`` once the shown graph's findings are worked out, and
``view.selection_changed(key)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # the types only: importing them here would import the window's widgets
    from PySide6.QtCore import SignalInstance
    from PySide6.QtGui import QAction

    from gradviz.core.graph import GradGraph
    from gradviz.core.viewmodel import ViewModel
    from gradviz.layout.geometry import Layout

    from .compare import CompareDock
    from .inspector import Inspector
    from .live import LiveRun
    from .view import GraphView
    from .workers import Runner


class Window(Protocol):
    """The main window's own interface; it is also a QMainWindow (toolbars, status bar)."""

    model: ViewModel  # what is shown and how; frozen: replace it with change()
    layout_data: Layout | None  # the Layout drawn now
    view: GraphView  # select(key), center_on(key), go_to(key), selected, nodes
    inspector: Inspector  # shows whatever is selected
    runner: Runner  # long work off the GUI thread, with progress and cancel
    player: object | None  # the lecture player's toolbar, when installed
    compare: CompareDock  # two passes compared (app/compare.py)
    live: LiveRun  # the script running now: Stop, follow newest, console, timeline
    passes: list[GradGraph]  # the passes in the selector, oldest first
    path: str | None  # what is open, for the title and the error dialogs
    graph_changed: SignalInstance
    model_changed: SignalInstance
    layout_applied: SignalInstance
    source_failed: SignalInstance
    diagnosed: SignalInstance

    @property
    def graph(self) -> GradGraph | None: ...  # the model's graph; None in the gallery

    def change(self, **fields) -> None:
        """Swap in the view model with ``fields`` (ViewModel's) changed; redraws as needed."""

    def set_graph(self, graph: GradGraph, *, collapsed=None,
                  error: BaseException | None = None) -> None:
        """Show ``graph`` (big graphs folded by module); lays out in the background and
        diagnoses it with ``error``, what the script raised (the diagnosis bar shows both)."""

    def set_passes(self, passes: list[GradGraph], run=None, *, show_newest: bool = True,
                   error: BaseException | None = None) -> None:
        """Several backward passes: a selector, the newest shown (unless ``show_newest`` is
        False: the pass shown stays), all to compare; ``run``: the Run they came from (its
        history); ``error``: what the script raised after the newest."""

    def select_node(self, node_id: int) -> None:
        """Select a node, or the folded box that holds it, and scroll to it."""

    def select_when_drawn(self, name: str) -> None:
        """Select ``name`` (as ``GradGraph.find``) once the next layout is drawn."""

    def add_menu_action(self, name: str, act: QAction, *, after: str) -> None:
        """Put ``act`` in the menus right after the action named ``after``."""

    def open_source(self, spec: str, argv=(), *, title: str | None = None,
                    **run_options) -> None:
        """A script (run in the background, every backward traced), a demo or a session."""

    def export_graph(self, path: str) -> None: ...  # the whole graph, via gradviz.layout.export
    def export_view(self, path: str) -> None: ...  # the view as seen
    def screenshot(self, path: str) -> None: ...  # the whole window
