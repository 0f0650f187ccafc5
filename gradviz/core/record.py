"""``gradviz.record()``: keep forward values, ``nn.Module`` paths and source lines.

A TorchFunctionMode sees every torch call made by the user's code (not the calls torch
makes internally, which keeps it cheap) and tags the ``grad_fn`` of each result through
its ``metadata`` dict. The tag lives exactly as long as the autograd Node, so recording
keeps nothing alive and needs no registry. Global module hooks keep the current
``nn.Module`` path on a stack; they fire in every thread, so each recorder listens only to
its own (torch's mode stack is per thread already).

Dynamo traces a TorchFunctionMode into the code it compiles, and a mode that tags Nodes
there made compiled functions return the wrong tensor: inside compiled code the recorder
only calls the function (the ops then show no value or module; their gradients are still
captured), and says so once when the block ends.
"""

from __future__ import annotations

import threading
import warnings
import weakref
from contextlib import contextmanager

import torch
from torch.overrides import TorchFunctionMode

from .errors import GradvizWarning
from .internals import is_compiling, packing_hooks_active
from .saved import saved_with_storages
from .snapshot import RECORD_CAP, Snapshot
from .userframe import source_line, user_frame

TAG = "gradviz"
#: Root modules seen while recording, so ``trace`` can name their parameters.
recorded_roots: "weakref.WeakSet[torch.nn.Module]" = weakref.WeakSet()
#: True once any recording happened: ``trace`` only looks for tags then.
ever_recorded = False


#: Reading ``tensor.grad`` reaches the mode too (every attribute of a tensor does).
_READ_GRAD = torch.Tensor.grad.__get__


def _read_grad(tensor: torch.Tensor):
    """``tensor.grad``, with torch's warning that a non-leaf's ``.grad`` stays None pointed at
    the user's line: raised inside the mode, it would name this module as its source. That
    warning answers the very question gradviz exists for."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        grad = _READ_GRAD(tensor)
    frame = user_frame(2)
    for w in caught:
        if frame is None:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        else:
            warnings.warn_explicit(w.message, w.category, frame.f_code.co_filename,
                                   frame.f_lineno, frame.f_globals.get("__name__"),
                                   frame.f_globals.setdefault("__warningregistry__", {}),
                                   frame.f_globals)
    return grad


class _Recorder(TorchFunctionMode):
    def __init__(self, cap: int):
        super().__init__()
        self.cap = cap
        self.stack: list[str] = []
        self.paths: dict[int, str] = {}
        self.thread = threading.get_ident()
        self.compiled = False  # whether dynamo traced through this recorder

    def __torch_function__(self, func, types, args=(), kwargs=None):
        if is_compiling():
            self.compiled = True  # dynamo replays this on every call of the compiled code
            return func(*args, **(kwargs or {}))
        if func == _READ_GRAD:
            return _read_grad(args[0])
        out = func(*args, **(kwargs or {}))
        if torch.is_grad_enabled():
            self._tag(out)
        return out

    def _tag(self, out) -> None:
        for t in out if isinstance(out, (tuple, list)) else (out,):
            fn = getattr(t, "grad_fn", None) if isinstance(t, torch.Tensor) else None
            if fn is None:
                continue
            meta = fn.metadata
            tag = meta.get(TAG)
            if tag is None:
                saved, storages = saved_with_storages(fn, packing_hooks_active())
                tag = meta[TAG] = {
                    "module": self.stack[-1] if self.stack else None,
                    "source": source_line(2),
                    "values": {},
                    "saved": saved,
                    "storages": storages,  # numbers only: memory.measure reads them
                }
            tag["values"][t.output_nr] = Snapshot.of(t, self.cap)

    # -- module stack -----------------------------------------------------------------
    def module_pre(self, module, args) -> None:
        if is_compiling() or threading.get_ident() != self.thread:
            return
        if not self.stack:
            recorded_roots.add(module)
            self.paths = {id(m): name for name, m in module.named_modules()}
            self.stack.append("")
            return
        path = self.paths.get(id(module))
        if path is None:  # a module built on the fly, not a registered child
            parent = self.stack[-1]
            path = f"{parent}.{type(module).__name__}" if parent else type(module).__name__
        self.stack.append(path)

    def module_post(self, module, args, output) -> None:
        if self.stack and not is_compiling() and threading.get_ident() == self.thread:
            self.stack.pop()


def ever_recording() -> bool:
    """Whether any recording happened: ``trace`` only looks for tags then."""
    return ever_recorded


@contextmanager
def record(cap: int = RECORD_CAP):
    """Keep each op's output value, its ``nn.Module`` path and source line for ``trace``."""
    global ever_recorded
    ever_recorded = True
    recorder = _Recorder(cap)
    hooks = torch.nn.modules.module
    pre = hooks.register_module_forward_pre_hook(recorder.module_pre)
    post = hooks.register_module_forward_hook(recorder.module_post, always_call=True)
    try:
        with recorder:
            yield recorder
    finally:
        pre.remove()
        post.remove()
        if recorder.compiled:
            warnings.warn("gradviz.record() stepped aside inside torch.compile'd code: its ops "
                          "show no value, module or source line (their gradients are still "
                          "captured)", GradvizWarning, stacklevel=3)


def tag_of(fn) -> dict | None:
    """The recording tag of an autograd Node, if ``record()`` saw it being created."""
    return fn.metadata.get(TAG) if fn is not None else None
