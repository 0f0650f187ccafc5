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
import tokenize
import traceback
from collections import deque
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch.overrides import TorchFunctionMode

try:
    import resource  # Unix only
except ImportError:
    resource = None

from .budget import DEFAULT_BUDGET
from .errors import GradvizError
from .graph import GradGraph
from .record import record
from .snapshot import DEFAULT_CAP
from .trace import TraceError, trace
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


def _check_source(script: str) -> None:
    """Refuse what ``python script.py`` refuses before it runs a line: bytes that are not
    text in the script's encoding (comments included), null bytes, a bad coding cookie.
    ``runpy`` compiles the bytes more leniently and would run some of them."""
    with open(script, "rb") as f:
        source = f.read()
    try:
        encoding, _ = tokenize.detect_encoding(iter(source.splitlines(True)).__next__)
        try:
            text = source.decode(encoding)
        except UnicodeDecodeError as err:
            raise SyntaxError(f"bytes that are not {encoding}: {err.reason} "
                              f"({source[err.start:err.start + 1]!r})", (
                                  script, source.count(b"\n", 0, err.start) + 1, 0, "")) from None
        if "\0" in text:
            raise SyntaxError("source code cannot contain null bytes",
                              (script, text.count("\n", 0, text.index("\0")) + 1, 0, ""))
        compile(text, script, "exec", dont_inherit=True)
    except SyntaxError as err:
        where = f", line {err.lineno}" if err.lineno else ""
        raise ScriptError(f"{Path(script).name}{where}: SyntaxError: {err.msg}", "") from None


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
    _check_source(script)
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


#: How deep the stack may grow while a script runs: PyTorch frees an autograd graph
#: recursively, and a chain of 50,000 ops whose nodes have Python objects (gradviz's hooks)
#: overflows the default 8 MB.
STACK_BYTES = 1 << 30


def _without_frames(err: BaseException) -> BaseException:
    """``err`` and the exceptions chained to it, without tracebacks: their frames hold the
    script's tensors, which must be freed while the stack may still grow."""
    seen, todo = set(), [err]
    while todo:
        e = todo.pop()
        if e is not None and id(e) not in seen:
            seen.add(id(e))
            e.__traceback__ = None
            todo += [e.__cause__, e.__context__]
    return err


def on_big_stack(fn, *args):
    """``fn(*args)`` in this thread, with room for :data:`STACK_BYTES` of stack.

    The script keeps the main thread, so ``signal.signal``, Ctrl+C and the script's own
    ``except KeyboardInterrupt`` work as under ``python script.py``. Linux grows the main
    thread's stack on demand up to the soft ``RLIMIT_STACK``, read at each fault, so raising
    it (within the hard limit) is enough; it is restored afterwards, once everything ``fn``
    made, its exception's frames included, has been freed. Elsewhere ``fn`` just runs.
    """
    if resource is None or sys.platform != "linux":
        return fn(*args)
    limit = resource.RLIMIT_STACK
    soft, hard = resource.getrlimit(limit)
    want = STACK_BYTES if hard == resource.RLIM_INFINITY else min(STACK_BYTES, hard)
    raised = soft != resource.RLIM_INFINITY and soft < want
    if raised:
        resource.setrlimit(limit, (want, hard))
    try:
        return fn(*args)
    except BaseException as err:  # noqa: BLE001 - re-raised, without the script's frames
        raise _without_frames(err)
    finally:
        if raised:
            resource.setrlimit(limit, (soft, hard))
