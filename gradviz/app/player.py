"""The lecture player: step through the forward or the backward pass, node by node.

What each step shows is decided by :mod:`gradviz.core.steps` (Qt-free); this toolbar only
moves the step, hands the step's state to the window's view model (``window.change(state=…)``)
and, once the window has drawn it, follows the current node with the view and the inspector.
Keys: Space or → next, ← previous, Home/End first/last, P play/pause, S stop (the whole
picture again), V value labels, F5 presenter mode (Esc leaves it), T light/dark.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QComboBox, QFileDialog, QLabel, QToolBar

from gradviz.core.steps import MODES, Steps, on_view
from gradviz.core.viewmodel import PlayerState
from gradviz.layout.steps import export_steps

from .errors import show_error
from .memory_chart import MemoryChart
from .presenter import Presenter
from .window_api import Window

#: Seconds per step when playing.
SPEEDS = (0.5, 1.0, 2.0, 3.0)
DEFAULT_SPEED = 1.0
PLAY, PAUSE = "▶ Play", "❚❚ Pause"
START = "  press Space to start"
#: Text, not icons: it takes the theme's colour and the presenter's large type.
STYLE = "QToolBar#player QToolButton:checked { border: 2px solid #e8590c; }"


def install(window: Window) -> None:
    """Called by ``MainWindow``: add the player toolbar and set ``window.player``."""
    window.player = Player(window)


class Player(QToolBar):
    def __init__(self, window: Window):
        super().__init__("Player", window, objectName="player")
        self.setStyleSheet(STYLE)
        self.window_ = window
        self.steps: Steps | None = None
        self.step: int | None = None  # None: the player is off, the whole picture shows
        self._follow = False  # a new step waits to be drawn, then the view and inspector follow
        self.timer = QTimer(self, timeout=self._on_tick)
        self._plain_labels = window.model.labels

        self.mode_box = QComboBox(toolTip="Forward: ops in creation order. Backward: nodes in "
                                  "the order the backward pass reached them.")
        for mode in MODES:
            self.mode_box.addItem(mode.capitalize(), mode)
        self.mode_box.activated.connect(self._on_mode_chosen)
        self.addWidget(self.mode_box)
        self.acts = {
            "first": self._act("⇤", "First step (Home)", ["Home"], self.first),
            "previous": self._act("←", "Previous step (←)", ["Left"], self.previous),
            "play": self._act(PLAY, "Play / pause (P)", ["P"], self.toggle_play, True),
            "next": self._act("→", "Next step (Space or →)", ["Space", "Right"], self.next),
            "last": self._act("⇥", "Last step (End)", ["End"], self.last),
            "stop": self._act("■", "Stop: the whole picture again (S)", ["S"], self.stop),
        }
        self.speed_box = QComboBox(toolTip="Seconds per step when playing")
        for seconds in SPEEDS:
            self.speed_box.addItem(f"{seconds:g} s/step", seconds)
        self.speed_box.setCurrentIndex(SPEEDS.index(DEFAULT_SPEED))
        self.speed_box.currentIndexChanged.connect(self._on_speed)
        self.addWidget(self.speed_box)
        self.caption = QLabel(START, objectName="caption")
        self.addWidget(self.caption)
        self.addSeparator()
        self.acts["values"] = self._act("Values", "Value and gradient on each node (V)", ["V"],
                                        self.set_values, True)
        self.acts["presenter"] = self._act("Present", "Presenter mode (F5)", ["F5"],
                                           self.set_presenting, True)
        self.acts["theme"] = self._act("Dark", "Dark theme (T)", ["T"], self.set_dark, True)
        self.acts["theme"].setChecked(window.model.theme == "dark")
        self.memory = MemoryChart(window)
        self.acts["presenter"].toggled.connect(self.memory.set_large)
        self.presenter = Presenter(window, self)
        # Esc leaves presenter mode; enabled only there, so the view keeps Esc otherwise
        self.leave = QAction("Leave presenter mode", window, shortcut=QKeySequence("Esc"),
                             enabled=False, triggered=lambda: self.set_presenting(False))
        window.addAction(self.leave)

        window.addToolBar(Qt.TopToolBarArea, self)
        window.graph_changed.connect(self._on_graph)
        window.model_changed.connect(self._on_model_changed)
        window.layout_applied.connect(self._on_drawn)
        act = QAction("Export &steps as PDF…", window)
        act.triggered.connect(lambda: _export_steps(window, self))
        window.add_menu_action("export_steps", act, after="export_view")

    def _act(self, text, tip, keys, slot, checkable=False) -> QAction:
        act = QAction(text, self, toolTip=tip, checkable=checkable)
        act.setShortcuts([QKeySequence(k) for k in keys])
        act.setShortcutContext(Qt.WindowShortcut)
        (act.toggled if checkable else act.triggered).connect(slot)
        self.addAction(act)
        return act

    # -- moving -----------------------------------------------------------------------
    @property
    def mode(self) -> str:
        return self.mode_box.currentData()

    def _ensure_steps(self) -> bool:
        graph = self.window_.graph
        if graph is None:
            return False
        if self.steps is None or self.steps.mode != self.mode:
            try:
                self.steps = Steps.of(graph, self.mode)
            except ValueError as err:
                self.window_.statusBar().showMessage(str(err), 8000)
                return False
        return True

    def go_to(self, number: int) -> None:
        """Show step ``number`` as the caption counts them (1 = first), clamped to the range."""
        if self._ensure_steps():
            self._show(min(max(number - 1, 0), self.steps.last()))

    def first(self) -> None:
        if self._ensure_steps():
            self._show(self.steps.first())

    def last(self) -> None:
        if self._ensure_steps():
            self._show(self.steps.last())

    def next(self) -> None:
        if self._ensure_steps():
            self._show(self.steps.first() if self.step is None else self.steps.next(self.step))

    def previous(self) -> None:
        if self._ensure_steps():
            self._show(self.steps.first() if self.step is None else self.steps.previous(self.step))

    def stop(self) -> None:
        """Back to the whole picture, every value and gradient shown."""
        self.toggle_play(False)
        self.step = None
        self.caption.setText(START)
        self.memory.show_step(None)
        self.window_.change(state=None)

    def _show(self, step: int) -> None:
        self.step, self._follow = step, True
        self.caption.setText(f"  {self.steps.caption(step)}")
        self.memory.show_step(step if self.mode == "backward" else None)
        self.window_.change(state=self._state(step))

    def _state(self, step: int) -> PlayerState:
        """The step's state in the keys of the picture as now folded. The model's folded view
        is worked out once per graph and folding (building it for every step took 40 ms of
        the GUI thread at 100,000 nodes)."""
        return PlayerState.of(on_view(self.steps.state(step), self.window_.model.folded))

    @property
    def current_key(self):
        """The key the view draws the current node as (a folded module may hold it)."""
        state = self.window_.model.state
        return state.current if state else None

    # -- playing ----------------------------------------------------------------------
    def toggle_play(self, on: bool) -> None:
        self.acts["play"].setChecked(on)
        self.acts["play"].setText(PAUSE if on else PLAY)
        if on and self._ensure_steps():
            self.timer.start(int(self.speed_box.currentData() * 1000))
            if self.step is None:
                self.next()
        else:
            self.timer.stop()

    def _on_tick(self) -> None:
        if self.step is not None and self.step >= self.steps.last():
            self.toggle_play(False)
        else:
            self.next()

    def _on_speed(self) -> None:
        if self.timer.isActive():
            self.timer.start(int(self.speed_box.currentData() * 1000))

    # -- looks ------------------------------------------------------------------------
    def set_values(self, on: bool) -> None:
        """Values mode labels, or back to the labels chosen before."""
        if on:
            self._plain_labels = self.window_.model.labels
        self.window_.change(labels="values" if on else self._plain_labels)

    def set_presenting(self, on: bool) -> None:
        self.acts["presenter"].setChecked(on)
        self.leave.setEnabled(on)
        self.presenter.set_on(on)

    def set_dark(self, on: bool) -> None:
        self.window_.change(theme="dark" if on else "light")

    # -- window events ----------------------------------------------------------------
    def _on_mode_chosen(self) -> None:
        if self.step is not None:
            self.first()

    def _on_graph(self, graph) -> None:
        self.toggle_play(False)
        self.steps, self.step = None, None
        self.caption.setText(START)
        self.memory.set_graph(graph)
        self.mode_box.setCurrentIndex(MODES.index("backward" if graph.has_grads else "forward"))

    def _on_model_changed(self, old, new) -> None:
        """A module was folded or unfolded and the window asked for a new layout: ask again
        with the step's state in the new picture's keys (the newer request wins)."""
        if self.step is not None and new.graph is old.graph and new.collapsed != old.collapsed:
            self._follow = True
            self.window_.change(state=self._state(self.step))

    def _on_drawn(self) -> None:
        """Drawn: restyle for the presenter; after a new step, follow and inspect its node."""
        self.presenter.on_drawn()
        key = self.current_key
        if key is None or not self._follow:
            return
        self._follow = False
        self.window_.change(selection=None)
        self.window_.inspector.inspect(self.window_.graph, key)
        self.presenter.frame(key)


def _export_steps(window, player: Player) -> None:
    if window.graph is None:
        return
    path, _ = QFileDialog.getSaveFileName(window, f"Export the {player.mode} steps", "",
                                          "PDF (*.pdf)")
    if path:
        export_steps_to(window, path if path.endswith(".pdf") else path + ".pdf", player.mode)


def export_steps_to(window, path: str, mode: str) -> None:
    """Write the steps PDF in the background, each page as the player shows that step:
    the window's folded modules, labels, colouring and theme (its frozen view model)."""
    model = window.model

    def job(progress, should_stop):
        return export_steps(model, path, mode, progress=progress, should_stop=should_stop)

    window.runner.submit("export", f"Exporting {mode} steps to {path}…", job,
                         lambda _: window.statusBar().showMessage(f"Exported {path}", 5000),
                         lambda exc: show_error(window, f"Cannot export {path}", exc))
