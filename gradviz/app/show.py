"""``gradviz.show(graph)``: a window on a graph from Python, blocking only where it must.

In a plain script nothing else runs Qt's event loop, so ``show`` runs it until the window
closes. Where a loop already turns (inside a Qt app, or IPython after ``%gui qt``) it
returns the window at once and the prompt stays usable.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import QThread, Qt
from PySide6.QtWidgets import QApplication

from gradviz.core.passes import Run

from .display import display_problem

_windows: list = []  # keeps non-blocking windows alive until they are closed


def _loop_running() -> bool:
    if QThread.currentThread().loopLevel() > 0:
        return True
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return getattr(shell, "active_eventloop", None) in ("qt", "qt5", "qt6")


def show(graph, *, select: str | None = None, theme: str = "light", labels: str = "compact",
         collapsed=None, block: bool | None = None):
    """Open a window on ``graph``, or on a ``gradviz.Run`` (its passes, newest shown, to
    compare, and its history); ``select`` a node by name or op once it is drawn.

    ``block`` None decides by itself (see the module docstring). Returns the window.
    """
    from .compare import show_run  # lazy: the whole app loads when a window opens
    from .window import MainWindow

    app = QApplication.instance()
    if app is None:
        if (problem := display_problem()) is not None:
            raise RuntimeError(problem)
        app = QApplication(sys.argv[:1])
    window = MainWindow(theme=theme)
    window.setAttribute(Qt.WA_DeleteOnClose)
    window.change(labels=labels)
    if isinstance(graph, Run):
        show_run(window, graph)
    else:
        window.set_graph(graph, collapsed=collapsed)
    if select is not None:
        window.select_when_drawn(select)
    window.show()
    window.raise_()
    if block is None:
        block = not _loop_running()
    if block:
        app.exec()
    else:
        _windows.append(window)
        window.destroyed.connect(lambda: _windows.remove(window) if window in _windows else None)
    return window
