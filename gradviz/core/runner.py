"""Run a user's script unchanged and trace every backward pass it makes.

The script runs as ``python script.py ARGS`` would run it (its own ``sys.argv``,
``__name__ == "__main__"``, its folder first on ``sys.path``) inside ``gradviz.record()``.
``Tensor.backward``, ``torch.autograd.backward`` and ``torch.autograd.grad`` are wrapped so
that each call first runs ``gradviz.trace`` on the tensors being differentiated, with the
caller's variables as names: the hooks are armed just before the pass they capture. Every
patch is undone in ``finally``, whatever the script does. A viewer can follow the run while it
goes: ``on_pass`` hears of each traced pass once its backward is done, ``output`` of each print.
"""

from __future__ import annotations

import os
import runpy
import sys
import threading
import time
import tokenize
import traceback
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch.overrides import TorchFunctionMode

try:
    import resource  # Unix only
except ImportError:
    resource = None

from . import internals
from .budget import DEFAULT_BUDGET
from .diagnosis import Finding, Severity, diagnose
from .errors import GradvizError
from .forwardlog import LOG
from .graph import GradGraph
from .passes import KEEP, Run
from .record import record
from .snapshot import DEFAULT_CAP
from .tee import tee_output
from .trace import TraceError
from .userframe import caller_locals, is_library, user_frame


class ScriptError(GradvizError, RuntimeError):
    """The script raised. ``traceback`` is its traceback, trimmed to the user's frames;
    ``findings``: what :func:`~gradviz.core.diagnosis.diagnose` made of the exception (empty
    when it does not recognise it); ``graph``: the traced pass whose backward raised (None when
    the exception came from elsewhere, or from a backward with no graph to trace);
    ``passes``: the passes traced before it, ``graph`` last when there is one."""

    def __init__(self, message: str, traceback_text: str, findings: list[Finding] | None = None,
                 graph: GradGraph | None = None, passes: list[GradGraph] | None = None):
        super().__init__(message)
        self.traceback = traceback_text
        self.findings = findings or []
        self.graph = graph
        self.passes = passes or []


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
    run: Run | None = None  # every traced pass's history (None for a saved session)
    #: The traced pass whose backward raised (the script's exception then ends the run).
    failed: GradGraph | None = None


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


class _Recording:
    """``record()`` around the forward passes of the steps that will be traced, and only
    those: an untraced step runs with no mode and no module hooks. It is switched only while
    its mode is the innermost (a script's own TorchFunctionMode above it would be popped
    instead), and back on only under the modes it was switched off under."""

    def __init__(self, cap: int):
        self.cap = cap
        self._on = None  # the record() context while recording
        self._recorder = None
        self._below: list | None = None  # the modes under it when it was switched off

    def switch(self, on: bool) -> None:
        if on == (self._on is not None):
            return
        modes = internals.function_modes()
        if on and (self._below is None or len(modes) == len(self._below) and all(
                a is b for a, b in zip(modes, self._below))):
            self._on = record(self.cap)
            self._recorder = self._on.__enter__()
        elif not on and modes and modes[-1] is self._recorder:
            self._below = modes[:-1]
            self.close()

    def close(self) -> None:
        if self._on is not None:
            on, self._on, self._recorder = self._on, None, None
            on.__exit__(None, None, None)


class _Tracer:
    """The three patched entry points; one trace per user call (``Tensor.backward`` calls
    ``torch.autograd.backward`` inside: the guard keeps that from tracing twice)."""

    def __init__(self, result: RunResult, run: Run, recording: _Recording, progress,
                 should_stop, on_pass):
        self.result, self.run, self.recording = result, run, recording
        self.progress, self.should_stop, self.on_pass = progress, should_stop, on_pass
        self.local = threading.local()
        self.originals = (torch.Tensor.backward, torch.autograd.backward, torch.autograd.grad)

    def _traced(self, original, tensors):
        def call(*args, **kwargs):
            if getattr(self.local, "inside", False):
                return original(*args, **kwargs)
            if self.should_stop is not None and self.should_stop():
                raise Stopped()
            self.local.inside = True
            graph = None
            try:
                graph = self._trace(tensors(args, kwargs))
                out = original(*args, **kwargs)
            except BaseException:
                self.result.failed = graph
                raise
            finally:
                self.local.inside = False
            LOG.new_step()  # what the forward log notes next belongs to the next step
            self.recording.switch(self.run.tracing_next)
            if graph is not None and self.on_pass is not None:
                self.on_pass(graph, self.run)
            return out
        return call

    def _trace(self, tensors) -> GradGraph | None:
        if isinstance(tensors, torch.Tensor):
            tensors = [tensors]
        tensors = [t for t in tensors if isinstance(t, torch.Tensor) and t.grad_fn is not None]
        self.result.calls += 1
        if not tensors or not self.run.tracing_next:
            self.run.skip()
            return None
        try:
            graph = self.run.trace(tensors, namespace=_namespace(user_frame(2)))
        except TraceError:
            return None
        graph.info.update(script=self.result.script, index=self.result.calls)
        if self.progress is not None:
            self.progress(f"traced backward pass {self.result.calls}", None)
        return graph

    def install(self) -> None:
        t_backward, a_backward, a_grad = self.originals
        torch.Tensor.backward = self._traced(t_backward, lambda a, k: a[0])
        torch.autograd.backward = self._traced(a_backward, lambda a, k: k.get("tensors", a[0] if a else ()))
        torch.autograd.grad = self._traced(a_grad, lambda a, k: k.get("outputs", a[0] if a else ()))

    def uninstall(self) -> None:
        torch.Tensor.backward, torch.autograd.backward, torch.autograd.grad = self.originals


def _user_traceback(err: BaseException, script: str) -> str:
    """The traceback from the script's first frame on, without gradviz's own frames, nor
    the frames of torch below the script's last one (``loss.backward()`` down to the engine)."""
    tb = traceback.TracebackException.from_exception(err)
    frames = list(tb.stack)
    start = next((i for i, f in enumerate(frames) if os.path.abspath(f.filename) == script), 0)
    here = os.path.dirname(os.path.abspath(__file__))
    frames = [f for f in frames[start:] if not os.path.abspath(f.filename).startswith(here)]
    while len(frames) > 1 and is_library(frames[-1].filename):
        frames.pop()
    tb.stack = traceback.StackSummary.from_list(frames)
    return "".join(tb.format())


def _findings(graph: GradGraph | None, err: BaseException) -> list[Finding]:
    """What the diagnoses make of the script's exception, while its tensors still live; a
    diagnosis that fails itself must not hide the script's own error."""
    try:
        return diagnose(graph, err)
    except Exception as exc:  # noqa: BLE001 - the script's error is the one to show
        return [Finding("diagnosis_failed", Severity.INFO,
                        f"gradviz could not diagnose it ({type(exc).__name__}: {exc})")]


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
               progress=None, should_stop=None, flows: bool | None = None, every: int = 1,
               first: int | None = None, spill=None, history_memory: int | None = None,
               on_pass=None, output=None) -> RunResult:
    """Run the script at ``path`` with ``argv`` as ``sys.argv[1:]``; trace its backward passes.

    ``keep``: how many passes to keep whole (the newest); ``every``, ``first``: trace every
    ``every``-th backward call (the first included), at most ``first`` of them (0: none, the
    script runs as without gradviz); the others run with no hooks and no recording (see
    :class:`~gradviz.core.passes.Run`). ``cap``, ``budget``, ``flows``: as in ``trace``;
    ``spill``, ``history_memory``: the run file older history goes to past that many bytes.
    ``progress(stage, fraction)`` is told about each pass; ``should_stop()`` returning True
    stops the script at its next torch call and raises :class:`Stopped`.
    ``on_pass(graph, run)`` is called in the script's thread once each traced pass's backward
    is done (its history taken), ``output(stream, text)`` with what the script prints (see
    :mod:`.tee`). Safe to call from a worker thread, one run at a time (``sys.argv`` and
    ``sys.path`` are process-wide).
    """
    script = os.path.abspath(path)
    if not os.path.isfile(script):
        raise FileNotFoundError(f"no such script: {path}")
    _check_source(script)
    run = Run(every=every, first=first, keep=keep, budget=budget, cap=cap, flows=flows,
              spill=spill, history_memory=history_memory)
    result = RunResult(script=script, run=run)
    recording = _Recording(DEFAULT_CAP if cap is None else cap)
    tracer = _Tracer(result, run, recording, progress, should_stop, on_pass)
    saved_argv, saved_path = sys.argv, list(sys.path)
    sys.argv = [script, *argv]
    sys.path.insert(0, os.path.dirname(script))
    if run.tracing_next:
        tracer.install()
    try:
        with _StopCheck(should_stop) if should_stop else nullcontext(), \
                tee_output(output) if output else nullcontext():
            recording.switch(run.tracing_next)  # innermost: switched off between steps
            try:
                made = runpy.run_path(script, run_name="__main__")  # what the script made
            finally:
                recording.close()
        _free_after_collectives(made)
    except (Stopped, KeyboardInterrupt):
        raise
    except SystemExit as exit_:
        if exit_.code not in (None, 0):
            raise ScriptError(f"{Path(script).name} exited with status {exit_.code}", "") from None
    except BaseException as err:  # noqa: BLE001 - the user's error, reported as theirs
        text = _user_traceback(err, script)
        last = traceback.format_exception_only(type(err), err)[-1].strip()
        failed, findings = result.failed, _findings(result.failed, err)
        if failed is not None:  # what the app's banner shows over the pass that raised
            failed.info.update(error=last, findings=findings)
        raise ScriptError(f"{Path(script).name} raised {last}", text, findings, failed,
                          run.passes) from None
    finally:
        tracer.uninstall()
        sys.argv, sys.path[:] = saved_argv, saved_path
    result.passes = run.passes
    if not result.passes and run.first != 0:
        raise NoBackwardError(
            f"{Path(script).name} finished without a backward pass: gradviz traces each "
            "loss.backward(), torch.autograd.backward() and torch.autograd.grad() the script "
            "makes. Add one (e.g. loss.backward()) or, from Python, call gradviz.trace(loss) "
            "before loss.backward()")
    return result


def _gloo_threads() -> bool:
    """Whether torch.distributed's gloo backend has worker threads in this process (Linux)."""
    try:
        tasks = os.listdir("/proc/self/task")
    except OSError:
        return False
    for task in tasks:
        try:
            with open(f"/proc/self/task/{task}/comm") as comm:
                if "gloo" in comm.read():
                    return True
        except OSError:
            continue
    return False


def _free_after_collectives(made: dict) -> None:
    """Free what the script made, once gloo's workers are done with its collectives.

    A gloo process group freed here (a DDP model's reducer holds one) joins its worker
    threads while this thread holds the GIL. A worker still dropping a collective whose
    thread-local state holds gradviz's Python mode (recording was on when the script made
    it) needs the GIL to do so: both wait forever (seen under load in the DDP test, with
    gdb: ``~ProcessGroupGloo`` joining, the worker in ``~ThreadLocalState``). Sleeping
    first hands the workers the GIL to finish."""
    if _gloo_threads():
        time.sleep(GLOO_SETTLE_S)
    made.clear()


#: How long the gloo workers get to drop their last collectives (see _free_after_collectives).
GLOO_SETTLE_S = 0.2


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
