"""Compare two passes: a dock to pick pass A and pass B (of one run, of several rank files or
saved sessions), the diff drawn in the window, the biggest changes and the nodes only one
pass had listed, and the selected node's history when a run is open.

The comparison itself is :func:`gradviz.core.diff.compare` (Qt-free); this dock only picks
the two passes, hands the union graph to the window with the diff colouring
(``window.change``) and lists what the diff found. Several files open side by side
(:func:`open_files`: ``gradviz open run.rank0.gradviz run.rank1.gradviz``) put all their
passes in the window's list, each named after its file, so ranks compare as passes do.
"""

from __future__ import annotations

import math
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QButtonGroup, QComboBox, QDockWidget, QFormLayout, QHBoxLayout,
                               QLabel, QListWidget, QListWidgetItem, QPushButton, QRadioButton,
                               QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from gradviz.core.diff import DiffError, DiffGraph, compare
from gradviz.core.graph import GradGraph
from gradviz.core.keys import NodeKey, parse_key
from gradviz.core.passes import Run, RunError
from gradviz.core.viewmodel import Colouring
from gradviz.sources import open_source

from .errors import show_error
from .recent import add_recent
from .window_api import Window

#: Rows of the biggest changes listed.
BIGGEST = 15
MEASURE_NAMES = {"grad": "gradient norms", "value": "value norms"}


def install(window: Window) -> None:
    """Called by ``MainWindow``: the dock (hidden until two passes are open) and its action."""
    window.compare = CompareDock(window)
    window.addDockWidget(Qt.RightDockWidgetArea, window.compare)
    window.compare.hide()
    act = window.compare.toggleViewAction()
    act.setText("&Compare passes")
    act.setShortcut("Ctrl+D")
    window.add_menu_action("compare", act, after="health")


def pass_name(graph: GradGraph) -> str:
    """``pass 3``, or ``run.rank1 pass 3`` for a pass from one of several files."""
    name = f"pass {graph.info.get('index', 1)}"
    origin = graph.info.get("origin")
    return f"{origin} {name}" if origin else name


def _node_text(graph: GradGraph, u: int) -> str:
    label, op = graph.nodes[u].label, graph.cols.op[u]
    return label if label == op else f"{label} ({op})"


def _ratio_text(x: float) -> str:
    if math.isnan(x):
        return "—"
    if math.isinf(x):
        return "from zero" if x > 0 else "to zero"
    factor = 10 ** x
    return f"x{factor:.3g}" if factor >= 1 else f"x1/{1 / factor:.3g}"


class CompareDock(QDockWidget):
    def __init__(self, window: Window):
        super().__init__("Compare passes", window, objectName="compare")
        self.window_ = window
        self.passes: list[GradGraph] = []
        self.diff = None
        self.run: Run | None = None  # the open run, for the selected node's history

        body = QWidget()
        lay = QVBoxLayout(body)
        form = QFormLayout()
        self.box_a, self.box_b = QComboBox(), QComboBox()
        form.addRow("Pass A:", self.box_a)
        form.addRow("Pass B:", self.box_b)
        lay.addLayout(form)
        row = QHBoxLayout()
        self.measures = QButtonGroup(self)
        for measure, text in MEASURE_NAMES.items():
            button = QRadioButton(text, checked=measure == "grad")
            button.setProperty("measure", measure)
            self.measures.addButton(button)
            row.addWidget(button)
        self.measures.buttonToggled.connect(self._on_measure)
        lay.addLayout(row)
        self.compare_button = QPushButton("Compare A with B", clicked=self.compare)
        lay.addWidget(self.compare_button)
        self.summary = QLabel(wordWrap=True)
        lay.addWidget(self.summary)
        lay.addWidget(QLabel("<b>Biggest changes</b> (B / A)"))
        self.biggest = QListWidget()
        self.biggest.itemActivated.connect(self._on_item)
        self.biggest.itemClicked.connect(self._on_item)
        lay.addWidget(self.biggest, 2)
        lay.addWidget(QLabel("<b>Only in one pass</b>"))
        self.only = QListWidget()
        self.only.itemClicked.connect(self._on_item)
        lay.addWidget(self.only, 1)
        self.history_title = QLabel("<b>History of the selected node</b>")
        lay.addWidget(self.history_title)
        self.history = QTableWidget(0, 4)
        self.history.setHorizontalHeaderLabels(["pass", "|grad|", "|value|", "NaN"])
        self.history.verticalHeader().hide()
        lay.addWidget(self.history, 2)
        self.setWidget(body)
        window.model_changed.connect(self._on_model_changed)

    # -- what can be compared --------------------------------------------------------
    def set_passes(self, passes: list[GradGraph], run: Run | None = None) -> None:
        """The passes to pick from (A: the oldest, or the first file's newest; B: the
        newest, or the second file's newest) and the run whose history to show."""
        self.passes, self.run = list(passes), run
        for box in (self.box_a, self.box_b):
            box.clear()
            for i, g in enumerate(passes):
                box.addItem(pass_name(g), i)
        origins = list(dict.fromkeys(g.info.get("origin") for g in passes))
        if len(origins) > 1:  # several files: each one's newest pass
            newest = [max(i for i, g in enumerate(passes) if g.info.get("origin") == o)
                      for o in origins[:2]]
            a, b = newest
        else:
            a, b = 0, len(passes) - 1
        self.box_a.setCurrentIndex(a)
        self.box_b.setCurrentIndex(b)
        self.compare_button.setEnabled(len(passes) > 1)
        self.history_title.setVisible(run is not None)
        self.history.setVisible(run is not None)

    @property
    def measure(self) -> str:
        return self.measures.checkedButton().property("measure")

    # -- comparing -------------------------------------------------------------------
    def compare(self) -> None:
        """Draw pass B against pass A in the window, list what changed most."""
        a, b = (self.passes[box.currentData()] for box in (self.box_a, self.box_b))
        try:
            self.diff = compare(a, b, names=(pass_name(a), pass_name(b)))
        except DiffError as exc:
            show_error(self.window_, "Cannot compare", exc)
            return
        self.window_.set_graph(self.diff.graph)
        self.window_.change(colouring=Colouring.DIFF, diff_measure=self.measure)
        self._list()

    def _list(self) -> None:
        d, measure = self.diff, self.measure
        g = d.graph
        self.biggest.clear()
        for u in d.biggest(BIGGEST, measure):
            item = QListWidgetItem(f"{_ratio_text(d.ratio(u, measure))}   "
                                   f"{_node_text(g, u)}")
            item.setData(Qt.UserRole, u)
            self.biggest.addItem(item)
        self.only.clear()
        for where, ids in (("A", d.only_a), ("B", d.only_b)):
            for u in ids:
                item = QListWidgetItem(f"only in {where}: {_node_text(g, u)}")
                item.setData(Qt.UserRole, u)
                self.only.addItem(item)
        self.summary.setText(
            f"{d.names[1]} against {d.names[0]}, {MEASURE_NAMES[measure]}: "
            f"{len(g) - len(d.only_a) - len(d.only_b)} nodes matched, {len(d.only_a)} only in "
            f"A, {len(d.only_b)} only in B")

    def _on_measure(self, button, on: bool) -> None:
        if on and self.diff is not None and self.window_.graph is self.diff.graph:
            self.window_.change(diff_measure=self.measure)
            self._list()

    def _on_item(self, item: QListWidgetItem) -> None:
        self.window_.select_node(item.data(Qt.UserRole))

    # -- the selected node's history -------------------------------------------------
    def _on_model_changed(self, old, new) -> None:
        if self.run is None or old.selection == new.selection and old.graph is new.graph:
            return
        self._show_history(new.graph, new.selection)

    def _show_history(self, graph, key) -> None:
        """The run's figures of the node selected in one of its passes, or in a diff."""
        self.history.setRowCount(0)
        if graph is None or key is None or not isinstance(parse_key(key), NodeKey):
            return
        if isinstance(graph, DiffGraph):
            hkey = graph.diff.changes[key].key
        elif graph in self.run.passes:
            hkey = self.run.keys_of(graph)[key]
        else:
            return
        figures = self.run.history(hkey)
        self.history.setRowCount(len(figures.passes))
        for row, cells in enumerate(zip(figures.passes, figures.grad_norm, figures.value_norm,
                                        figures.nan)):
            for col, value in enumerate(cells):
                text = str(int(value)) if col in (0, 3) else \
                    ("—" if math.isnan(value) else f"{value:.4g}")
                self.history.setItem(row, col, QTableWidgetItem(text))


# -- several files at once ----------------------------------------------------------------
def _opened(paths: list[str]):
    """Each file's passes, named after the file when there are several; a single file's
    run (None for several: their histories are not one run's)."""
    results = [open_source(p) for p in paths]
    passes = []
    for path, result in zip(paths, results):
        for g in result.passes:
            if len(paths) > 1:
                g.info["origin"] = Path(path).name.removesuffix(".gradviz")
            passes.append(g)
    return passes, results[0].run if len(paths) == 1 else None


def open_files(window: Window, paths: list[str]) -> None:
    """Open sessions or run files (several: the ranks of one run, or two sessions of one
    model) in the background; their passes go in the window's list and the compare dock."""
    for p in paths:
        add_recent(p)
    window.path = " + ".join(Path(p).name for p in paths)

    def job(progress, should_stop):
        return _opened(list(paths))

    def done(result):
        passes, run = result
        window.set_passes(passes, run)
        if len(passes) > 1:
            window.compare.show()

    window.runner.submit("source", f"Opening {window.path}…", job, done,
                         window._on_source_error)


def show_run(window: Window, run: Run) -> None:
    """A Run (traced in Python, or loaded) in the window: its passes and its history."""
    passes = run.passes
    if not passes:
        raise RunError("the run has no traced pass yet: show it after its first backward")
    window.set_passes(passes, run)
    window.compare.setVisible(len(passes) > 1)

