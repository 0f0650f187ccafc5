"""Run a Graphviz program as a subprocess: never in-process, always with a timeout and a way
to cancel, so a pathological graph can cost time but never hang the caller."""

from __future__ import annotations

import shutil
import subprocess
import time

INSTALL_HINT = ("Graphviz's `dot` program is not installed (gradviz needs the program, not only "
                "the Python package). Install it: Debian/Ubuntu `sudo apt-get install graphviz`, "
                "macOS `brew install graphviz`, conda `conda install graphviz`.")
DEFAULT_TIMEOUT = 60.0


class GraphvizMissing(RuntimeError):
    """``dot`` is not on PATH."""

    def __init__(self):
        super().__init__(INSTALL_HINT)


class GraphvizFailed(RuntimeError):
    """``dot`` ran but failed, or ran past its timeout."""


class Cancelled(Exception):
    """``should_stop`` asked to stop."""


def have_graphviz() -> bool:
    return shutil.which("dot") is not None


def run_graphviz(source: str, fmt: str, *, engine: str = "dot", args=(),
                 timeout: float = DEFAULT_TIMEOUT, should_stop=None) -> bytes:
    """``engine -T<fmt> [args]`` on ``source``; the program's stdout."""
    exe = shutil.which(engine)
    if exe is None:
        raise GraphvizMissing()
    proc = subprocess.Popen([exe, f"-T{fmt}", *args], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + timeout
    data = source.encode()
    try:
        while True:
            step = 0.1 if should_stop is not None else max(deadline - time.monotonic(), 0.001)
            try:
                out, err = proc.communicate(data, timeout=step)
                break
            except subprocess.TimeoutExpired:
                data = None  # already written; communicate() must not write it again
                if should_stop is not None and should_stop():
                    raise Cancelled("layout cancelled") from None
                if time.monotonic() > deadline:
                    raise GraphvizFailed(f"{engine} took more than {timeout:g} s") from None
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if proc.returncode != 0:
        message = err.decode(errors="replace").strip().splitlines()
        raise GraphvizFailed(f"{engine} failed: {message[-1] if message else proc.returncode}")
    return out
