"""Run a user's script unchanged and trace every backward pass it makes.

The script runs as ``python script.py ARGS`` would run it (its own ``sys.argv``,
``__name__ == "__main__"``, its folder first on ``sys.path``) inside ``gradviz.record()``.
``Tensor.backward``, ``torch.autograd.backward`` and ``torch.autograd.grad`` are wrapped so
that each call first runs ``gradviz.trace`` on the tensors being differentiated, with the
caller's variables as names: the hooks are armed just before the pass they capture. Every
patch is undone in ``finally``, whatever the script does.
"""

from __future__ import annotations

import os
import runpy
import sys
import threading
import traceback
from collections import deque
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch.overrides import TorchFunctionMode

from .graph import GradGraph
from .record import record
from .budget import DEFAULT_BUDGET
from .snapshot import DEFAULT_CAP
from .trace import TraceError, trace
from .errors import GradvizError
from .userframe import caller_locals, user_frame

#: Passes kept by default: a training loop's newest ones.
KEEP = 20


class ScriptError(GradvizError, RuntimeError):
    """The script raised. ``traceback`` is its traceback, trimmed to the user's frames."""

    def __init__(self, message: str, traceback_text: str):
        super().__init__(message)
        self.traceback = traceback_text


class NoBackwardError(GradvizError, RuntimeError):
    """The script finished without a backward pass, so there is nothing to show."""


class Stopped(BaseException):
    """Raised inside the script when ``should_stop()`` says so; a BaseException so that the
    script's own ``except Exception`` cannot swallow it."""


@dataclass
class RunResult:
    passes: list[GradGraph] = field(default_factory=list)  # newest last
    script: str = ""
    calls: int = 0  # backward calls seen, including passes no longer kept


def _namespace(frame) -> dict:
    """The caller's locals, then its globals: the names a user would use."""
    if frame is None:
        return {}
    with caller_locals(frame) as local:  # without leaving the frame's snapshot of them alive
        names = dict(local)
    for k, v in frame.f_globals.items():
        names.setdefault(k, v)
    return names


class _StopCheck(TorchFunctionMode):
    """Checks ``should_stop`` every few hundred torch calls, so a long script can be
    cancelled between backward passes too."""

    EVERY = 256

    def __init__(self, should_stop):
        super().__init__()
        self.should_stop, self.count = should_stop, 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        self.count += 1
        if self.count % self.EVERY == 0 and self.should_stop():
            raise Stopped()
        return func(*args, **(kwargs or {}))


class _Tracer:
    """The three patched entry points; one trace per user call (``Tensor.backward`` calls
    ``torch.autograd.backward`` inside: the guard keeps that from tracing twice)."""

    def __init__(self, result: RunResult, keep: int, cap: int | None, budget, progress,
                 should_stop, flows: bool | None = None):
        self.result, self.cap, self.budget, self.flows = result, cap, budget, flows
        self.passes: deque[GradGraph] = deque(maxlen=keep)
        self.progress, self.should_stop = progress, should_stop
        self.local = threading.local()
        self.originals = (torch.Tensor.backward, torch.autograd.backward, torch.autograd.grad)

    def _traced(self, original, tensors):
        def call(*args, **kwargs):
            if getattr(self.local, "inside", False):
                return original(*args, **kwargs)
            if self.should_stop is not None and self.should_stop():
                raise Stopped()
            self.local.inside = True
            try:
                self._trace(tensors(args, kwargs))
                return original(*args, **kwargs)
            finally:
                self.local.inside = False
        return call

    def _trace(self, tensors) -> None:
        if isinstance(tensors, torch.Tensor):
            tensors = [tensors]
        tensors = [t for t in tensors if isinstance(t, torch.Tensor) and t.grad_fn is not None]
        self.result.calls += 1
        if not tensors:
            return
        try:
            graph = trace(tensors, cap=self.cap, budget=self.budget, flows=self.flows,
                          namespace=_namespace(user_frame(2)))
        except TraceError:
            return
        graph.info.update(script=self.result.script, index=self.result.calls)
        self.passes.append(graph)
        if self.progress is not None:
            self.progress(f"traced backward pass {self.result.calls}", None)

    def install(self) -> None:
        t_backward, a_backward, a_grad = self.originals
        torch.Tensor.backward = self._traced(t_backward, lambda a, k: a[0])
        torch.autograd.backward = self._traced(a_backward, lambda a, k: k.get("tensors", a[0] if a else ()))
        torch.autograd.grad = self._traced(a_grad, lambda a, k: k.get("outputs", a[0] if a else ()))

    def uninstall(self) -> None:
        torch.Tensor.backward, torch.autograd.backward, torch.autograd.grad = self.originals


def _user_traceback(err: BaseException, script: str) -> str:
    """The traceback from the script's first frame on, without gradviz's own frames."""
    tb = traceback.TracebackException.from_exception(err)
    frames = list(tb.stack)
    start = next((i for i, f in enumerate(frames) if os.path.abspath(f.filename) == script), 0)
    here = os.path.dirname(os.path.abspath(__file__))
    tb.stack = traceback.StackSummary.from_list(
        [f for f in frames[start:] if not os.path.abspath(f.filename).startswith(here)])
    return "".join(tb.format())


def run_script(path, argv=(), *, keep: int = KEEP, cap: int | None = None, budget=DEFAULT_BUDGET,
               progress=None, should_stop=None, flows: bool | None = None) -> RunResult:
    """Run the script at ``path`` with ``argv`` as ``sys.argv[1:]``; trace its backward passes.

    ``keep``: how many passes to keep (the newest); ``cap``, ``budget``, ``flows``: as in
    ``trace``.
    ``progress(stage, fraction)`` is told about each pass; ``should_stop()`` returning True
    stops the script at its next torch call and raises :class:`Stopped`. Safe to call from a
    worker thread, one run at a time (``sys.argv`` and ``sys.path`` are process-wide).
    """
    script = os.path.abspath(path)
    if not os.path.isfile(script):
        raise FileNotFoundError(f"no such script: {path}")
    result = RunResult(script=script)
    tracer = _Tracer(result, keep, cap, budget, progress, should_stop, flows)
    saved_argv, saved_path = sys.argv, list(sys.path)
    sys.argv = [script, *argv]
    sys.path.insert(0, os.path.dirname(script))
    tracer.install()
    try:
        with record(DEFAULT_CAP if cap is None else cap), (
                _StopCheck(should_stop) if should_stop else nullcontext()):
            runpy.run_path(script, run_name="__main__")
    except (Stopped, KeyboardInterrupt):
        raise
    except SystemExit as exit_:
        if exit_.code not in (None, 0):
            raise ScriptError(f"{Path(script).name} exited with status {exit_.code}", "") from None
    except BaseException as err:  # noqa: BLE001 - the user's error, reported as theirs
        text = _user_traceback(err, script)
        last = traceback.format_exception_only(type(err), err)[-1].strip()
        raise ScriptError(f"{Path(script).name} raised {last}", text) from None
    finally:
        tracer.uninstall()
        sys.argv, sys.path[:] = saved_argv, saved_path
    result.passes = list(tracer.passes)
    if not result.passes:
        raise NoBackwardError(
            f"{Path(script).name} finished without a backward pass: gradviz traces each "
            "loss.backward(), torch.autograd.backward() and torch.autograd.grad() the script "
            "makes. Add one (e.g. loss.backward()) or, from Python, call gradviz.trace(loss) "
            "before loss.backward()")
    return result
