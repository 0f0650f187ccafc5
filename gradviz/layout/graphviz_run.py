"""Run a Graphviz program as a subprocess: never in-process, always with a timeout and a way
to cancel, so a pathological graph can cost time but never hang the caller."""

from __future__ import annotations

import shutil
import subprocess
import threading
import time

from .graphviz_errors import Cancelled, GraphvizFailed, GraphvizMissing
from .resident import layout_json

DEFAULT_TIMEOUT = 60.0


def have_graphviz() -> bool:
    return shutil.which("dot") is not None


def run_graphviz(source: str, fmt: str, *, engine: str = "dot", args=(),
                 timeout: float = DEFAULT_TIMEOUT, should_stop=None) -> bytes:
    """``engine -T<fmt> [args]`` on ``source``; the program's stdout.

    A watchdog thread kills the program on timeout or when ``should_stop()`` turns true,
    while this thread waits in a plain blocking ``communicate()``: ``communicate`` with a
    timeout ends in a sleep-and-poll wait for the exit that costs a millisecond or more,
    a tenth of a small layout.
    """
    exe = shutil.which(engine)
    if exe is None:
        raise GraphvizMissing()
    if (engine, fmt, tuple(args)) == ("dot", "json0", ()):  # a layout: see .resident
        out = layout_json(exe, source, timeout, should_stop)
        if out is not None:
            return out
    proc = subprocess.Popen([exe, f"-T{fmt}", *args], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    finished = threading.Event()
    why: list[Exception] = []  # what the watchdog killed it for

    def watch() -> None:
        deadline = time.monotonic() + timeout
        step = 0.1 if should_stop is not None else timeout
        while not finished.wait(min(step, max(deadline - time.monotonic(), 0.0))):
            if should_stop is not None and should_stop():
                why.append(Cancelled("layout cancelled"))
            elif time.monotonic() >= deadline:
                why.append(GraphvizFailed(f"{engine} took more than {timeout:g} s"))
            if why:
                proc.kill()
                return

    watchdog = threading.Thread(target=watch, daemon=True)
    watchdog.start()
    try:
        out, err = proc.communicate(source.encode())
    finally:
        finished.set()
        watchdog.join()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if why:
        raise why[0]
    if proc.returncode != 0:
        message = err.decode(errors="replace").strip().splitlines()
        raise GraphvizFailed(f"{engine} failed: {message[-1] if message else proc.returncode}")
    return out
