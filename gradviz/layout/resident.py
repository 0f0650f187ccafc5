"""One ``dot -Tjson0`` process kept running between layouts.

Starting ``dot`` costs about 6 ms (the dynamic linker resolving its libraries), half of what a
100-node layout takes in all. ``dot`` lays out graph after graph from one input and writes
each result as soon as it is done, so the app's second and later layouts (expanding,
collapsing, another pass) skip the start. Its output for one graph is a JSON object whose
closing brace is the only one at the start of a line.

Still a subprocess with a timeout and a way to cancel: a layout that runs too long or is
cancelled kills the process, and the next layout starts a fresh one. Anything unexpected
(the process died, a layout runs while another one holds it) is answered with ``None``, and
the caller runs a one-shot ``dot`` instead, which also gives Graphviz's own error message.
"""

from __future__ import annotations

import atexit
import os
import selectors
import subprocess
import threading
import time

from .graphviz_errors import Cancelled, GraphvizFailed

END = b"\n}\n"
_lock = threading.Lock()
_proc: subprocess.Popen | None = None


def _stop() -> None:
    global _proc
    if _proc is not None:
        _proc.kill()
        _proc.wait()
        _proc.stdin.close()
        _proc.stdout.close()
        _proc = None


atexit.register(_stop)


def _started(exe: str) -> subprocess.Popen:
    global _proc
    if _proc is not None and _proc.poll() is not None:
        _stop()  # it died: close its pipes before starting another
    if _proc is None:
        # stderr is dropped, or a chatty graph could fill the pipe and stall dot: a failed
        # layout is rerun one-shot, which reports the error
        _proc = subprocess.Popen([exe, "-Tjson0"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                 stderr=subprocess.DEVNULL)
    return _proc


def layout_json(exe: str, source: str, timeout: float, should_stop=None) -> bytes | None:
    """``dot -Tjson0`` of ``source`` from the resident process, or None when it cannot say."""
    if not _lock.acquire(blocking=False):
        return None
    try:
        return _ask(_started(exe), source.encode(), timeout, should_stop)
    finally:
        _lock.release()


def _ask(proc: subprocess.Popen, data: bytes, timeout: float, should_stop) -> bytes | None:
    deadline = time.monotonic() + timeout
    try:
        proc.stdin.write(data + b"\n")
        proc.stdin.flush()
    except OSError:
        _stop()
        return None
    out = bytearray()
    fd = proc.stdout.fileno()
    with selectors.DefaultSelector() as wait:
        wait.register(fd, selectors.EVENT_READ)
        while not out.endswith(END):
            left = deadline - time.monotonic()
            if should_stop is not None and should_stop():
                _stop()
                raise Cancelled("layout cancelled")
            if left <= 0:
                _stop()
                raise GraphvizFailed(f"dot took more than {timeout:g} s")
            if wait.select(min(left, 0.1) if should_stop is not None else left):
                chunk = os.read(fd, 1 << 16)
                if not chunk:  # dot died
                    _stop()
                    return None
                out += chunk
    return bytes(out)
