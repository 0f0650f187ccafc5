"""``gradviz.record()``: keep forward values, ``nn.Module`` paths and source lines.

A TorchFunctionMode sees every torch call made by the user's code (not the calls torch
makes internally, which keeps it cheap) and tags the ``grad_fn`` of each result through
its ``metadata`` dict. The tag lives exactly as long as the autograd Node, so recording
keeps nothing alive and needs no registry. Global module hooks keep the current
``nn.Module`` path on a stack; they fire in every thread, so each recorder listens only to
its own (torch's mode stack is per thread already).

For the diagnoses (:mod:`gradviz.core.diagnoses`) a tag also holds the version counter of
each tensor the op saved, and the forward log (:mod:`gradviz.core.forwardlog`) gets every
in-place write and every cut of the chain (``.detach()``, ``.item()``, an op under no_grad
on a tensor that requires grad); both are rare, so the forward pays for them only there.

Dynamo traces a TorchFunctionMode into the code it compiles, and a mode that tags Nodes
there made compiled functions return the wrong tensor: inside compiled code the recorder
only calls the function (the ops then show no value or module; their gradients are still
captured), and says so once when the block ends.
"""

from __future__ import annotations

import os
import threading
import warnings
import weakref
from contextlib import contextmanager

import torch
from torch.overrides import TorchFunctionMode

from .errors import GradvizWarning
from .forwardlog import LOG, Cut, Write
from .internals import is_compiling, packing_hooks_active, version
from .memory import storage_of
from .saved import saved_with_storages
from .snapshot import RECORD_CAP, Snapshot
from .userframe import in_library, outer_line, source_line, user_frame
from .viewstats import ViewStats

TAG = "gradviz"
#: Root modules seen while recording, so ``trace`` can name their parameters.
recorded_roots: "weakref.WeakSet[torch.nn.Module]" = weakref.WeakSet()
#: True once any recording happened: ``trace`` only looks for tags then.
ever_recorded = False


#: Reading ``tensor.grad`` reaches the mode too (every attribute of a tensor does).
_READ_GRAD = torch.Tensor.grad.__get__

_OPTIM = os.path.join(os.path.dirname(torch.__file__), "optim") + os.sep
#: Calls that turn a tensor into something without its graph, by the kind of cut.
_CUTS = {"detach": "detach", "detach_": "detach", "item": "item", "tolist": "tolist",
         "numpy": "numpy", "__int__": "number", "__float__": "number", "__bool__": "number",
         "__index__": "number", "__complex__": "number", "tensor": "copy", "as_tensor": "copy"}
#: Names ending in ``_`` that write nothing; dunders that do.
_NOT_WRITES = {"requires_grad_", "share_memory_", "retain_grad_"}
_DUNDER_WRITES = {f"__i{op}__" for op in ("add", "sub", "mul", "truediv", "floordiv", "mod",
                                          "pow", "matmul", "and", "or", "xor", "lshift",
                                          "rshift")} | {"__setitem__"}
#: Ops with an integer or boolean result that nobody means as a cut (masks, indices).
_NOT_CUTS = {"eq", "ne", "lt", "le", "gt", "ge", "__eq__", "__ne__", "__lt__", "__le__",
             "__gt__", "__ge__", "isnan", "isinf", "isfinite", "isneginf", "isposinf",
             "isclose", "equal", "allclose", "argmax", "argmin", "argsort", "nonzero"}
_KINDS: dict = {torch.Tensor.data.__get__: "data"}


def _kind(func) -> str:
    """What a call is to the recorder: "write" (in place), a cut (:data:`_CUTS`), "get" (an
    attribute read), "quiet" (a result that is no cut) or "" (an op); worked out once per
    function."""
    kind = _KINDS.get(func)
    if kind is None:
        name = getattr(func, "__name__", "")
        if name in _CUTS:
            kind = _CUTS[name]
        elif name in _DUNDER_WRITES or (name.endswith("_") and not name.endswith("__")
                                        and name not in _NOT_WRITES):
            kind = "write"
        elif name in ("__get__", "__set__"):
            kind = "get"
        elif name in _NOT_CUTS or name.endswith("_like") or name.startswith("new_"):
            kind = "quiet"
        else:
            kind = ""
        _KINDS[func] = kind
    return kind


def _tensors(value) -> list[torch.Tensor]:
    """The tensors of an argument: itself, or those of a list of them (``_foreach`` ops)."""
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, (list, tuple)):
        return [v for v in value if isinstance(v, torch.Tensor)]
    return []


def _needing_grad(args) -> list[torch.Tensor]:
    return [a for a in args if isinstance(a, torch.Tensor) and a.requires_grad]


def _leaves_behind(tensors: list[torch.Tensor], limit: int = 10_000) -> tuple[int, ...]:
    """id() of the leaf tensors that require grad and that ``tensors`` were computed from
    (the parameters a cut leaves without gradient), looking at ``limit`` Nodes at most."""
    found = [id(t) for t in tensors if t.grad_fn is None]
    stack, seen = [t.grad_fn for t in tensors if t.grad_fn is not None], set()
    while stack and len(seen) < limit:
        fn = stack.pop()
        if fn in seen:
            continue
        seen.add(fn)
        leaf = getattr(fn, "variable", None)  # only a leaf's AccumulateGrad has one
        if leaf is not None:
            found.append(id(leaf))
        stack.extend(nxt for nxt, _ in fn.next_functions if nxt is not None)
    return tuple(dict.fromkeys(found))


def _op_name(func, kwargs) -> str:
    name = getattr(func, "__name__", str(func))
    if kwargs and kwargs.get("inplace") is True:
        return f"{name}(inplace=True)"
    return f"{name}(out=...)" if kwargs and "out" in kwargs else name


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
        self.views = ViewStats()

    def __torch_function__(self, func, types, args=(), kwargs=None):
        if is_compiling():
            self.compiled = True  # dynamo replays this on every call of the compiled code
            return func(*args, **(kwargs or {}))
        if func == _READ_GRAD:
            return _read_grad(args[0])
        out = func(*args, **(kwargs or {}))
        kind = _kind(func)
        if kwargs and (kwargs.get("inplace") is True or "out" in kwargs):
            kind = "write"
        if torch.is_grad_enabled():
            write = self._write(func, args, kwargs) if kind == "write" else None
            if not self._tag(out, write) and kind not in ("get", "quiet", "write"):
                self._cut(kind, func, args, out)
            if write is not None and out is None:  # y[0] = 1: the new grad_fn is y's
                self._tag(args[0], write)
        elif kind == "write":
            self._write(func, args, kwargs)
        elif kind not in ("get", "quiet"):
            self._cut(kind, func, args, out)
        return out

    def _tag(self, out, write: Write | None = None) -> bool:
        """Tag the grad_fn of each output; whether one had a grad_fn."""
        tagged = False
        for t in out if isinstance(out, (tuple, list)) else (out,):
            fn = getattr(t, "grad_fn", None) if isinstance(t, torch.Tensor) else None
            if fn is None:
                continue
            tagged = True
            meta = fn.metadata
            tag = meta.get(TAG)
            if tag is None:
                versions = []
                saved, storages = saved_with_storages(fn, packing_hooks_active(), versions)
                tag = meta[TAG] = {
                    "module": self.stack[-1] if self.stack else None,
                    "source": source_line(2),
                    "values": {},
                    "saved": saved,
                    "storages": storages,  # numbers only: memory.measure reads them
                    "versions": versions,
                }
            if write is not None:
                tag["write"] = write
            tag["values"][t.output_nr] = Snapshot.of(t, self.cap, self.views)
        return tagged

    def _write(self, func, args, kwargs) -> Write:
        """Note an in-place op: where, what it wrote, the version counters it left."""
        written = _tensors(kwargs["out"] if kwargs and "out" in kwargs else args[0] if args
                           else None)
        write = Write(_op_name(func, kwargs), source_line(2),
                      tuple(((storage_of(t) or (None,))[0], version(t), tuple(t.shape))
                            for t in written))  # no address: a storage FSDP freed, a wrapper
        LOG.writes.append(write)
        return write

    def _cut(self, kind: str, func, args, out) -> None:
        """Note a call that left its result without the graph of an input that requires
        grad: a cut (.detach(), .item(), an integer cast, any op under no_grad)."""
        if not kind:  # an op: a cut when under no_grad, or when its result is integer
            if torch.is_grad_enabled():
                if not isinstance(out, torch.Tensor) or out.is_floating_point() \
                        or out.is_complex() or out.requires_grad:
                    return
                kind = "integer"
            elif in_library(_OPTIM):  # an optimizer's step reads its parameters so
                return
            else:
                kind = "inference_mode" if torch.is_inference_mode_enabled() else "no_grad"
        inputs = _needing_grad(args)
        if inputs:
            LOG.cuts.append(Cut(kind, getattr(func, "__name__", str(func)), source_line(2),
                                outer_line(2) or source_line(2), _leaves_behind(inputs), LOG.step))

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
    LOG.new_step()  # a new forward: the cuts noted before it are not this one's
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
