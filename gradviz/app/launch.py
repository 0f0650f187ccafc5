"""``gradviz``, ``gradviz demo`` and ``gradviz run``: open the window on what was asked for.

With ``--screenshot FILE`` the window opens (off screen or on screen), waits until the
graph is drawn, selects ``--select NODE`` so that the inspector shows it, saves itself and
exits: 0 on success, 1 when the script failed, 2 for a bad argument.
"""

from __future__ import annotations

import sys
from pathlib import Path

from .capture import FORMATS
from .display import display_problem


def _list_demos() -> int:
    from gradviz.demos import catalog

    demos = catalog()
    width = max(len(d.name) for d in demos)
    for d in demos:
        print(f"{d.name:<{width}}  {d.summary}")
    return 0


def _fail(message: str, code: int = 2) -> int:
    print(f"gradviz: {message}", file=sys.stderr)
    return code


def launch(args) -> int:
    if args.command == "demo" and args.list:
        return _list_demos()
    if args.command == "demo":
        from gradviz.demos import find

        try:
            find(args.name)
        except KeyError as exc:
            return _fail(exc.args[0])
    if args.command == "run" and not Path(args.script).is_file():
        return _fail(f"no such script: {args.script}")
    shot = getattr(args, "screenshot", None)
    if shot and Path(shot).suffix.lower() not in FORMATS:
        return _fail(f"--screenshot takes a .png, .svg or .pdf file, not {shot}")
    if (problem := display_problem()) is not None:
        print(problem, file=sys.stderr)
        return 2

    from PySide6.QtWidgets import QApplication

    from .window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("gradviz")
    window = MainWindow(theme=getattr(args, "theme", None) or "light")
    session = _Session(app, window, args)
    if args.command == "demo":
        window.open_demo(args.name)
    elif args.command == "run":
        window.open_source(args.script, args.args, budget=args.budget, flows=args.flows)
    window.show()
    code = app.exec()
    return session.code if session.code is not None else code


class _Session:
    """What happens once the graph is drawn: --select, --step, --screenshot."""

    def __init__(self, app, window, args):
        self.app, self.window, self.args = app, window, args
        self.code = None
        self.stepped = False
        if getattr(args, "select", None) or getattr(args, "step", None) is not None \
                or getattr(args, "screenshot", None):
            window.layout_applied.connect(self._on_drawn)
        if getattr(args, "screenshot", None):
            window.source_failed.connect(self._on_failed)

    def _on_drawn(self) -> None:
        try:
            self._after_drawn()
        except Exception as exc:  # noqa: BLE001 - exit with the message, never hang
            self._exit(_fail(f"{type(exc).__name__}: {exc}", 1))

    def _after_drawn(self) -> None:
        args, window = self.args, self.window
        if args.step is not None and not self.stepped:
            if window.player is None:
                return self._exit(_fail("--step needs the lecture player, which is not installed"))
            self.stepped = True
            window.player.go_to(args.step)  # restyles: this runs again once that is drawn
            return
        window.layout_applied.disconnect(self._on_drawn)
        if args.select:
            try:
                window.select_node(window.graph.find(args.select).id)
            except KeyError as exc:
                return self._exit(_fail(exc.args[0]))
        if args.screenshot:
            self.app.processEvents()
            window.screenshot(args.screenshot)
            print(f"gradviz: saved {args.screenshot}", file=sys.stderr)
            self._exit(0)

    def _on_failed(self, message: str) -> None:
        self._exit(_fail(message, 1))

    def _exit(self, code: int) -> None:
        self.code = code
        self.window.close()
        self.app.exit(code)
