"""A script followed while it runs: its passes shown as they arrive, a Stop button, its
console and its timeline.

The script runs in the runner's thread and tells of each traced pass (``on_pass``) and each
print (``output``) from there; this controller only notes the run, and every
:data:`TICK_MS` the GUI thread brings the pass selector and the timeline up to date and, while
it follows, shows the newest pass, at most every :data:`FOLLOW_MS`. A newer pass never
interrupts a layout under way (at a pass per few milliseconds nothing would ever be drawn):
it is shown once that layout is. Showing a pass (inspector, layout, drawing) competes with the
script for the interpreter, and one a second is plenty to watch (``benchmarks/live.py``
measures what the window costs the script).
Picking a pass (the selector or the timeline) stops following; "Follow newest" resumes.
"""

from __future__ import annotations

from PySide6.QtCore import QElapsedTimer, QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QToolBar

from gradviz.core.keys import NodeKey, parse_key
from gradviz.core.passes import Run, RunError

from .console import Console
from .timeline import Timeline
from .window_api import Window

TICK_MS = 200
FOLLOW_MS = 1000


class LiveRun(QObject):
    ended = Signal()  # the script finished, failed or was stopped; its passes are set
    _arrived = Signal(object, object)  # the run's token, its gradviz Run (script thread)

    def __init__(self, window: Window):
        super().__init__(window)
        self.window = window
        self.run: Run | None = None  # the traced passes of the script running or last run
        self.task = None  # the runner's task while the script runs
        self.following = True
        #: False: the passes are listed and plotted as they come, the newest shown only at
        #: the end (``--screenshot``, ``--select`` and ``--step`` wait for the finished run).
        self.show_while_running = True
        self._token = None
        self._done = 0  # traced passes whose backward ended (on_pass told of them)
        self._seen = 0  # of those, how many are listed and plotted

        self.console = Console(window)
        self.timeline = Timeline(window)
        window.addDockWidget(Qt.BottomDockWidgetArea, self.timeline)
        window.splitDockWidget(self.timeline, self.console, Qt.Horizontal)
        self.console.hide()
        self.timeline.hide()
        self._sized: set = set()  # the bottom docks take a third of the window when first shown
        for dock in (self.console, self.timeline):
            dock.visibilityChanged.connect(lambda shown, d=dock: shown and self._size(d))
        self.timeline.picked.connect(self.open_pass)

        self.bar = QToolBar("Live run", window, objectName="live")
        self.stop_act = self.bar.addAction("■ Stop", self.stop)
        self.stop_act.setToolTip("End the script at its next torch call (its finally blocks "
                                 "run); the passes traced so far stay")
        self.follow_act = self.bar.addAction("Follow newest")
        self.follow_act.setCheckable(True)
        self.follow_act.setChecked(True)
        self.follow_act.setToolTip("Show each new pass as it arrives")
        self.follow_act.toggled.connect(self.set_following)
        window.addToolBar(self.bar)
        self.bar.hide()

        self._timer = QTimer(self, interval=TICK_MS, timeout=self._tick)
        self._followed = QElapsedTimer()  # since the view last moved on to a newer pass
        self._arrived.connect(self._on_arrived)
        window.pass_box.activated.connect(self._on_pass_picked)
        window.model_changed.connect(self._on_model_changed)
        window.runner.idle.connect(self._on_idle)

    @property
    def running(self) -> bool:
        return self.task is not None

    def _size(self, dock) -> None:
        if not self._sized:
            self.window.resizeDocks([dock], [self.window.height() // 3], Qt.Vertical)
        if dock is self.timeline and dock not in self._sized:
            width = self.window.width()
            self.window.resizeDocks([self.timeline, self.console], [width * 3 // 5, width // 3],
                                    Qt.Horizontal)
        self._sized.add(dock)

    # -- the script's run ---------------------------------------------------------------
    def begin(self) -> dict:
        """A new source opens: forget the last run; the hooks ``run_script`` calls."""
        token = self._token = object()
        self.run, self.task, self._done, self._seen = None, None, 0, 0
        self._followed.invalidate()
        self.set_following(True)
        self.console.begin(token)
        self.timeline.clear()
        self.timeline.hide()

        def on_pass(graph, run) -> None:
            try:
                self._arrived.emit(token, run)
            except RuntimeError:  # the window closed: nobody follows any more
                pass

        def output(stream: str, text: str) -> None:
            self.console.write(token, stream, text)

        return {"on_pass": on_pass, "output": output}

    def started(self, task) -> None:
        self.task = task
        self.stop_act.setEnabled(True)
        self.bar.show()
        self._timer.start()

    def finished(self) -> None:
        """The script ended (any way): list and plot the last passes. Once per run."""
        if self.task is None:
            return
        self._timer.stop()
        self.task = None
        self.stop_act.setEnabled(False)
        self.console.flush()
        self._refresh()
        self._follow(self.following)  # the last pass, as the others were followed
        self.ended.emit()

    def stop(self) -> None:
        """End the script cleanly: it raises ``Stopped`` at its next torch call."""
        if self.task is not None:
            self.task.stop.set()
            self.stop_act.setEnabled(False)
            self.window.statusBar().showMessage("Stopping the script…", 5000)

    def show_stopped(self, name: str) -> None:
        """The script was stopped: say so, show its passes (the newest, if following)."""
        passes = self.ended_passes()
        after = f"after backward pass {passes[-1].info.get('index')}" if passes \
            else "before a traced backward pass ended"
        self.window.statusBar().showMessage(f"Stopped {name} {after}", 10_000)
        if passes:
            self.window.set_passes(passes, self.run, show_newest=self.following)

    def _on_idle(self) -> None:
        """The progress strip's Cancel forgets the script's task: it ended too."""
        if self.task is not None and not self.window.runner.running("source"):
            self.finished()

    def _on_arrived(self, token, run: Run) -> None:
        if token is self._token:
            self.run = run
            self._done += 1

    def _tick(self) -> None:
        self._refresh()
        due = not self._followed.isValid() or self._followed.elapsed() >= FOLLOW_MS
        self._follow(self.following and self.show_while_running and due
                     and not self.window.runner.running("layout"))

    def _follow(self, now: bool) -> None:
        """Show the newest pass of this run (``now``: nothing stands in the way)."""
        passes = self.window.passes if self.run is not None else []
        if now and passes and passes[-1] is not self.window.graph:
            self._show(passes[-1])
            self._followed.start()

    def _refresh(self) -> None:
        """New passes into the selector and the timeline; a pass whose backward still runs
        is neither (its gradients are not all there yet)."""
        run = self.run
        if run is None or self._done == self._seen:
            return
        self._seen = self._done
        self.window.set_passes(self.ended_passes(), self.run, show_newest=False)
        self._plot()

    def ended_passes(self) -> list:
        """The kept passes of the run whose backward ended, oldest first."""
        return [g for g in self.run.passes if g.capture.ran] if self.run is not None else []

    # -- following or picking -------------------------------------------------------------
    def set_following(self, on: bool) -> None:
        self.following = on
        if self.follow_act.isChecked() != on:
            self.follow_act.setChecked(on)  # comes back here once, with nothing to change
        if on and self.running:
            self._followed.invalidate()  # at once
            self._tick()

    def _on_pass_picked(self, row: int) -> None:
        passes = self.window.passes
        self.set_following(passes[self.window.pass_box.itemData(row)] is passes[-1])

    def open_pass(self, index: int) -> None:
        """Show the pass that was backward call ``index``, if it is still kept whole."""
        passes = self.window.passes
        graph = next((g for g in passes if g.info.get("index") == index), None)
        if graph is None:
            kept = f" (passes {passes[0].info.get('index')} to {passes[-1].info.get('index')})" \
                if passes else ""
            self.window.statusBar().showMessage(
                f"pass {index} is no longer kept whole, only the newest {len(passes)}{kept}; "
                "its figures stay in the timeline", 8000)
            return
        self.set_following(graph is passes[-1])
        if graph is not self.window.graph:
            self._show(graph)

    def _show(self, graph) -> None:
        """Show another pass of the run as the one shown is seen: with the same folding and
        selection when both passes have the same nodes (one model, one path through it),
        so that the inspector and the timeline stay on the node the user chose."""
        model = self.window.model
        same = model.graph is not None and self.run is not None and \
            self.run.keys_of(model.graph) == self.run.keys_of(graph)
        if same:
            self.window.set_graph(graph, collapsed=model.collapsed)
            self.window.change(selection=model.selection)
        else:
            self.window.set_graph(graph)

    # -- the timeline -------------------------------------------------------------------
    def _on_model_changed(self, old, new) -> None:
        if self.run is not None and (old.graph is not new.graph or
                                     old.selection != new.selection):
            self._plot()

    def _plot(self) -> None:
        run = self.run
        if run is None or self._done < 2:
            return
        graph = self.window.graph
        shown = graph.info.get("index") if graph is not None else None
        self.timeline.set_data(run.timeline(), self._node_history(), shown)
        if self.timeline.isHidden():
            self.timeline.show()

    def _node_history(self):
        """(label, history) of the selected node, when it is one node of this run's passes."""
        graph, key = self.window.graph, self.window.model.selection
        if graph is None or key is None or not isinstance(parse_key(key), NodeKey):
            return None
        node = graph.node(key)
        try:
            return node.label, self.run.history(node)
        except RunError:  # a graph of another run
            return None
