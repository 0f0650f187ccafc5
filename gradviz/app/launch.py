"""``gradviz``, ``gradviz demo`` and ``gradviz run``: open the window on what was asked for.

With ``--screenshot FILE`` the window opens (off screen or on screen), waits until the
graph is drawn, selects ``--select NODE`` so that the inspector shows it, saves itself and
exits: 0 on success, 1 when the script failed, 2 for a bad argument. A demo of one of
autograd's failures raises on purpose: diagnosed under the bar, it exits 0.

Off screen nobody can close the window, so it never waits for that: a failed script, a
graph that is not drawn once nothing is left running, or a drawn graph with no
``--screenshot`` to save it to ends the run with one line. gradviz's own options go before
the script (``gradviz run --screenshot s.png train.py``); given after it, they reach the
script, and when the script refuses them (a usage error: exit status 2, as argparse and
click exit) or nothing would show them (off screen), gradviz says where they belong.
"""

from __future__ import annotations

import signal
import sys
from contextlib import contextmanager
from pathlib import Path

from gradviz.demos import catalog, find
from gradviz.sources import runner_options

from .capture import FORMATS
from .display import display_problem

#: Seconds with nothing left running and no graph drawn before --screenshot gives up.
UNDRAWN_GRACE_S = 10.0


def _list_demos() -> int:
    demos = catalog()
    width = max(len(d.name) for d in demos)
    for d in demos:
        print(f"{d.name:<{width}}  {d.summary}")
    return 0


def _fail(message: str, code: int = 2) -> int:
    print(f"gradviz: {message}", file=sys.stderr)
    return code


def launch(args, hint: str | None = None) -> int:
    """Open the window that ``args`` ask for; ``hint``: where gradviz's options misplaced
    after the script belong (:func:`gradviz.cli.misplaced_hint`), said if the script fails."""
    if args.command == "demo" and args.list:
        return _list_demos()
    if args.command == "demo":
        try:
            find(args.name)
        except KeyError as exc:
            return _fail(exc.args[0])
    if args.command == "run" and Path(args.script).is_dir():
        return _fail(f"cannot open {args.script}: it is a folder, not a Python script")
    if args.command == "run" and not Path(args.script).is_file():
        return _fail(f"no such script: {args.script}")
    missing = [f for f in getattr(args, "files", ()) if not Path(f).is_file()]
    if args.command == "open" and missing:
        return _fail(f"no such file: {missing[0]}")
    shot = getattr(args, "screenshot", None)
    if shot and Path(shot).suffix.lower() not in FORMATS:
        return _fail(f"--screenshot takes a .png, .svg or .pdf file, not {shot}")
    if shot:
        args.screenshot = str(Path(shot).absolute())  # before the script can os.chdir
    if (problem := display_problem()) is not None:
        print(problem, file=sys.stderr)
        return 2

    # lazy: Qt and the whole window load only once the arguments and the display are good
    from PySide6.QtWidgets import QApplication

    from .compare import open_files
    from .window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("gradviz")
    window = MainWindow(theme=getattr(args, "theme", None) or "light")
    session = _Session(app, window, args, hint)
    with _ctrl_c_closes(session):  # before the script starts, which may be interrupted at once
        if args.command == "demo":
            window.open_demo(args.name)
        elif args.command == "run":
            window.open_source(args.script, args.args, **runner_options(args))
        elif args.command == "open":
            open_files(window, [str(Path(f).absolute()) for f in args.files])
        window.show()
        code = app.exec()
    return session.code if session.code is not None else code


@contextmanager
def _ctrl_c_closes(session: "_Session"):
    """Ctrl+C closes the window: one line, exit status 130. Python runs signal handlers only
    between its own bytecodes, so a timer wakes it while Qt's event loop waits; the exit is
    queued, so that a Ctrl+C before the loop runs ends it too."""
    from PySide6.QtCore import QTimer

    def interrupted(*_):
        QTimer.singleShot(0, lambda: session._exit(_fail("interrupted", 130)))

    previous = signal.signal(signal.SIGINT, interrupted)
    wake = QTimer(interval=200)
    wake.timeout.connect(lambda: None)
    wake.start()
    try:
        yield
    finally:
        wake.stop()
        signal.signal(signal.SIGINT, previous)


class _Session:
    """What happens once the graph is drawn (--select, --step, --screenshot), or when it
    cannot be: a failed script, nothing left running, no screen to show it on."""

    def __init__(self, app, window, args, hint: str | None):
        self.app, self.window, self.args = app, window, args
        self.code = None
        self.stepped = False
        self.drawn = False
        self.off_screen = app.platformName() in ("offscreen", "minimal")
        self.hint = hint
        unattended = getattr(args, "screenshot", None) or self.off_screen
        if getattr(args, "select", None) or getattr(args, "step", None) is not None \
                or unattended:
            window.live.show_while_running = False  # what is drawn first is the finished run
            window.layout_applied.connect(self._on_drawn)
        window.source_failed.connect(self._on_failed)
        if unattended:
            window.runner.idle.connect(self._on_idle)

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
        self.drawn = True
        if args.screenshot:
            if window.runner.busy:  # the summary or the diagnosis is still being worked out
                window.runner.idle.connect(self._shoot)
            else:
                self._shoot()
        elif self.off_screen:
            self._exit(_fail(self.hint or "the window is off screen (QT_QPA_PLATFORM="
                             f"{self.app.platformName()}) and there is no --screenshot "
                             "FILE to save it to; for a file without a window: gradviz export"))

    def _shoot(self) -> None:
        """Save ``--screenshot`` and exit: 1 when the script raised in backward (the bar over
        the pass that raised says what went wrong), 0 otherwise, and 0 for a demo that raises
        on purpose once the bar shows the failure it teaches."""
        if self.code is not None:
            return
        self.app.processEvents()
        self.window.screenshot(self.args.screenshot)
        print(f"gradviz: saved {self.args.screenshot}", file=sys.stderr)
        error = self.window.error
        if error is not None and self._teaches_it():
            raised = str(error).partition(" raised ")[2] or str(error)
            print(f"gradviz: {self.args.name} raises on purpose: {raised}", file=sys.stderr)
            error = None
        elif error is not None:
            print(f"gradviz: error: {error}", file=sys.stderr)
        self._exit(1 if error is not None else 0)

    def _teaches_it(self) -> bool:
        """A failure demo whose failure gradviz diagnosed: the lesson, not an error."""
        if self.args.command != "demo":
            return False
        kind = find(self.args.name).failure
        return kind is not None and any(f.kind == kind for f in self.window.findings)

    def _on_failed(self, message: str) -> None:
        if self.hint and "exited with status 2" in message:  # a usage error: not its option
            self._exit(_fail(self.hint))
        elif self.args.screenshot or self.off_screen:
            self._exit(_fail(message, 1))

    def _on_idle(self) -> None:
        """Nothing runs any more: a graph that is still not drawn never will be."""
        from PySide6.QtCore import QTimer

        def check():
            if not self.drawn and self.code is None and not self.window.runner.busy:
                self._exit(_fail(f"no graph was drawn for {self.args.screenshot or 'the window'}"
                                 f" ({UNDRAWN_GRACE_S:g} s with nothing left running)", 1))

        QTimer.singleShot(int(UNDRAWN_GRACE_S * 1000), check)

    def _exit(self, code: int) -> None:
        self.code = code
        self.window.close()
        self.app.exit(code)
