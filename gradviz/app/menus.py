"""The window's menus and their shortcuts; file dialogs live here, the work in the window."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSignalBlocker
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QFileDialog, QMenu, QMessageBox

from gradviz.core.viewmodel import Colouring

from .compare import open_files
from .recent import recent_files
from .themes import icon

SCRIPTS = "Python scripts (*.py)"
SESSIONS = "gradviz sessions (*.gradviz)"
GRAPH_EXPORTS = "SVG (*.svg);;PNG (*.png);;PDF (*.pdf);;Graphviz DOT (*.dot);;JSON (*.json)"
VIEW_EXPORTS = "PNG (*.png);;SVG (*.svg);;PDF (*.pdf)"

SHORTCUTS = """\
Mouse: click selects, drag pans, wheel zooms about the cursor, double-click a module box
to collapse or expand it, hover for op, shape and gradient norm.
F fit · + / - zoom · Ctrl+F search (Enter next, Shift+Enter previous) · L upstream and
downstream · H gradient health · M memory · Ctrl+N next NaN or Inf · Esc clear selection ·
Ctrl+D compare passes · Ctrl+O open script · Ctrl+S save session · Ctrl+E export graph ·
Ctrl+Shift+E export view"""


def _action(window, menu, text, slot, shortcut=None, icon_name=None, checkable=False):
    act = QAction(text, window, checkable=checkable)
    if shortcut:
        act.setShortcut(QKeySequence(shortcut))
    if icon_name:
        act.setIcon(icon(icon_name))
    (act.toggled if checkable else act.triggered).connect(slot)
    menu.addAction(act)
    return act


def _ask_save(window, title, filters, default_suffix) -> str | None:
    path, _ = QFileDialog.getSaveFileName(window, title, "", filters)
    if path and not Path(path).suffix:
        path += default_suffix
    return path or None


def build_menus(w) -> None:
    """Add File, Edit, View and Help menus to ``w`` (a MainWindow); actions go to ``w.actions``."""
    bar = w.menuBar()
    acts = w.actions_by_name = {}

    file = bar.addMenu("&File")
    acts["open_script"] = _action(w, file, "Open &script…", lambda: _open_script(w), "Ctrl+O", "open")
    acts["open_session"] = _action(w, file, "&Open session…", lambda: _open_session(w), "Ctrl+Shift+O")
    acts["save_session"] = _action(w, file, "&Save session…", lambda: _save_session(w), "Ctrl+S", "save")
    file.addSeparator()
    acts["export_graph"] = _action(w, file, "&Export graph…", lambda: _export_graph(w), "Ctrl+E", "export")
    acts["export_view"] = _action(w, file, "Export &view as seen…", lambda: _export_view(w), "Ctrl+Shift+E")
    file.addSeparator()
    recent = file.addMenu("&Recent files")
    recent.aboutToShow.connect(lambda: _fill_recent(w, recent))
    file.addSeparator()
    acts["quit"] = _action(w, file, "&Quit", w.close, "Ctrl+Q")

    edit = bar.addMenu("&Edit")
    acts["find"] = _action(w, edit, "&Find…", w.search.open_bar, "Ctrl+F", "search")
    acts["next_nan"] = _action(w, edit, "Jump to next &NaN or Inf", w.jump_to_next_nan, "Ctrl+N",
                               "nan")
    acts["clear"] = _action(w, edit, "&Clear selection", lambda: w.change(selection=None))

    view = bar.addMenu("&View")
    acts["fit"] = _action(w, view, "&Fit to window", w.view.fit, "F", "fit")
    acts["zoom_in"] = _action(w, view, "Zoom &in", lambda: w.view.zoom_at_cursor(True), "+", "zoom-in")
    acts["zoom_out"] = _action(w, view, "Zoom &out", lambda: w.view.zoom_at_cursor(False), "-", "zoom-out")
    view.addSeparator()
    acts["lineage"] = _action(w, view, "Highlight &upstream and downstream", w.view.set_lineage,
                              "L", "lineage", checkable=True)
    acts["health"] = _action(w, view, "Gradient &health colouring", lambda on: w.change(
        colouring=Colouring.HEALTH if on else Colouring.NONE), "H", "health", checkable=True)
    acts["memory"] = _action(w, view, "&Memory colouring (saved for backward)",
                             lambda on: w.change(colouring=Colouring.MEMORY if on
                                                 else Colouring.NONE), "M", checkable=True)
    w.model_changed.connect(lambda old, new: _check_colouring(acts, new.colouring))
    labels = view.addMenu("&Labels")
    group = QActionGroup(w)
    for mode in ("compact", "full", "values"):
        act = _action(w, labels, mode, lambda on, m=mode: on and w.change(labels=m),
                      checkable=True)
        act.setChecked(mode == w.model.labels)
        group.addAction(act)
    themes = view.addMenu("&Theme")
    group = QActionGroup(w)
    for name in ("light", "dark"):
        act = _action(w, themes, name, lambda on, n=name: on and w.change(theme=n),
                      checkable=True)
        act.setChecked(name == w.model.theme)
        group.addAction(act)

    help_ = bar.addMenu("&Help")
    _action(w, help_, "&Keyboard and mouse", lambda: QMessageBox.information(w, "gradviz", SHORTCUTS))


def _check_colouring(acts: dict, colouring: Colouring) -> None:
    """One colouring at a time: the action of the one shown is checked, the others not."""
    for name, mode in (("health", Colouring.HEALTH), ("memory", Colouring.MEMORY)):
        if acts[name].isChecked() != (colouring is mode):
            with QSignalBlocker(acts[name]):
                acts[name].setChecked(colouring is mode)


def insert_action(w, name: str, act: QAction, after: str) -> None:
    """Put ``act`` in the menu that holds the action ``after``, right after it, as ``name``."""
    anchor = w.actions_by_name[after]
    (menu,) = [m for m in anchor.associatedObjects() if isinstance(m, QMenu)]
    following = menu.actions()
    menu.insertAction(following[following.index(anchor) + 1], act)
    w.actions_by_name[name] = act


def _fill_recent(w, menu) -> None:
    menu.clear()
    for path in recent_files():
        menu.addAction(path, lambda p=path: w.open_path(p))
    if menu.isEmpty():
        menu.addAction("(none yet)").setEnabled(False)


def _open_script(w) -> None:
    path, _ = QFileDialog.getOpenFileName(w, "Run a script and trace its backward passes", "", SCRIPTS)
    if path:
        w.open_path(path)


def _open_session(w) -> None:
    """One session or run file, or several (a run's rank files, two sessions to compare)."""
    paths, _ = QFileDialog.getOpenFileNames(w, "Open saved sessions or runs (several: to "
                                            "compare them)", "", SESSIONS)
    if paths:
        open_files(w, paths)


def _save_session(w) -> None:
    if w.graph is not None and (path := _ask_save(w, "Save session", SESSIONS, ".gradviz")):
        w.save_session(path)


def _export_graph(w) -> None:
    if w.graph is not None and (path := _ask_save(w, "Export the whole graph", GRAPH_EXPORTS, ".svg")):
        w.export_graph(path)


def _export_view(w) -> None:
    if w.graph is not None and (path := _ask_save(w, "Export the view as seen", VIEW_EXPORTS, ".png")):
        w.export_view(path)
