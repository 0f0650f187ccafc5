"""Every use of PyTorch's private API in gradviz, in one place, checked once at import.

Private names can change in any torch release. Kept here (and only here: a test parses every
other module and fails on a private torch attribute), a change breaks one file, and the check
below says at import which gradviz features an installed torch cannot support, instead of
failing deep inside the user's backward pass.

What each feature uses, and the torch release believed to have brought it (from torch's
history; only the saved-tensor one was checked, by ``make test-oldest-torch``: the probe below
decides, on the torch at hand):

- capture: ``torch._C._current_autograd_node`` (2.1; one shared pre-hook finds its Node),
  ``torch._C._current_graph_task_id`` (2.1; a hook fired by a later pass after a failed one),
  ``Variable._execution_engine.queue_callback`` (1.x; the end of the pass), a leaf tensor's
  ``_backward_hooks`` dict (1.x);
- saved tensors read without running unpack hooks: ``SavedTensor.unpack_hook`` on
  ``fn._raw_saved_*`` (2.10: 2.5.1, 2.6.0, 2.7.1, 2.8.0 and 2.9.1 lack it) and
  ``torch._C._autograd._top_saved_tensors_default_hooks`` (2.1);
- memory (bytes saved for backward): ``SavedTensor.data`` on ``fn._raw_saved_*`` (2.5, as
  ``unpack_hook``): what autograd holds, read without unpacking (the tensor, or what a
  saved-tensor hook packed it into, or None once backward released it);
- output shapes and creation order: ``Node._input_metadata``, ``Node._sequence_nr()`` (2.1);
- record() beside torch.compile: ``torch.compiler.is_compiling`` (public, 2.3).

So gradviz supports torch 2.10 and later (:data:`FLOOR`, as pyproject requires); it is
developed on 2.13, and ``make test-oldest-torch`` runs the core's tests on the floor. An
older torch still imports gradviz, with one GradvizWarning naming what is missing; without the capture APIs ``trace`` then raises a clear
error before arming anything, and the user's backward runs as without gradviz.
"""

from __future__ import annotations

import itertools
import operator
import warnings
from collections import OrderedDict
from itertools import islice

import torch

from .errors import GradvizError, GradvizWarning

FLOOR = (2, 10)


class TorchTooOldError(GradvizError, RuntimeError):
    """The installed torch lacks an API a gradviz feature needs."""


def _probe() -> dict[str, str]:
    """Feature -> the missing API, for each feature this torch cannot support."""
    missing = {}
    for name in ("_current_autograd_node", "_current_graph_task_id"):
        if not hasattr(torch._C, name):
            missing.setdefault("capture", f"torch._C.{name}")
    engine = getattr(torch.autograd.Variable, "_execution_engine", None)
    if not hasattr(engine, "queue_callback"):
        missing.setdefault("capture", "the autograd engine's queue_callback")
    saved = getattr(getattr(torch._C, "_autograd", None), "SavedTensor", None)
    if not (hasattr(saved, "unpack_hook")
            and hasattr(torch._C._autograd, "_top_saved_tensors_default_hooks")):
        missing["saved tensors"] = "SavedTensor.unpack_hook"
    if not hasattr(saved, "data"):
        missing["memory"] = "SavedTensor.data"
    if not hasattr(torch.autograd.graph.Node, "_input_metadata"):
        missing["output shapes"] = "Node._input_metadata"
    if not hasattr(getattr(torch, "compiler", None), "is_compiling"):
        missing["record() beside torch.compile"] = "torch.compiler.is_compiling"
    return missing


#: Features this torch cannot support -> the API it lacks (empty on a supported torch).
MISSING = _probe()
if MISSING:
    warnings.warn(
        f"gradviz supports torch >= {FLOOR[0]}.{FLOOR[1]}; torch {torch.__version__} lacks "
        + "; ".join(f"{api} (so: {feature} unavailable)" for feature, api in MISSING.items()),
        GradvizWarning, stacklevel=2)


def require(feature: str) -> None:
    """Raise a clear error when ``feature`` cannot work on this torch."""
    if feature in MISSING:
        raise TorchTooOldError(f"gradviz {feature} needs {MISSING[feature]}, which torch "
                               f"{torch.__version__} lacks; install torch >= {FLOOR[0]}.{FLOOR[1]}")


# -- capture: which Node is running, in which pass -------------------------------------------
if "capture" not in MISSING:
    #: The autograd Node whose hooks are running now (None outside backward).
    current_node = torch._C._current_autograd_node
    #: A number per backward pass (graph task); -1 outside backward.
    current_graph_task = torch._C._current_graph_task_id


def queue_end_of_pass(callback) -> None:
    """Run ``callback`` when the current backward pass (graph task) finishes successfully."""
    torch.autograd.Variable._execution_engine.queue_callback(callback)


if "record() beside torch.compile" not in MISSING:
    #: Whether dynamo is tracing the code that runs now (it folds this to a constant).
    is_compiling = torch.compiler.is_compiling
else:
    def is_compiling() -> bool:
        return False


class LeafHooks:
    """Hooks on leaf tensors, put straight into each tensor's own hooks dict under one key
    (what ``Tensor.register_hook`` does, less its RemovableHandle and torch-function checks:
    3-9 us a leaf, most of arming a narrow model with many parameters). Each tensor's dict
    is its own: nothing shared with other threads or other tensors is touched."""

    _keys = itertools.count(-1, -1)  # negative: never one of torch's handle ids

    def __init__(self):
        self.key = next(self._keys)
        self.dicts: list[dict] = []

    def add(self, tensor: torch.Tensor, hook) -> None:
        hooks = tensor._backward_hooks
        if hooks is None:  # setting the dict is what wires it to the leaf's accumulator
            tensor._backward_hooks = hooks = OrderedDict()
        hooks[self.key] = hook
        self.dicts.append(hooks)

    def remove(self) -> None:
        dicts, self.dicts = self.dicts, []
        for hooks in dicts:
            hooks.pop(self.key, None)


# -- runs: recording switched on and off between steps (gradviz/core/runner.py) --------------
# The private name the lead asked to keep here: torch.overrides has no public way to read the
# TorchFunctionMode stack, and popping a mode that is not on top would pop the script's own.
def function_modes() -> list:
    """The TorchFunctionModes active in this thread, innermost last."""
    return list(torch.overrides._get_current_function_mode_stack())


# -- what a Node knows about itself ------------------------------------------------------------
def input_metadata(fn) -> tuple:
    """Shape, dtype and device of each of the Node's outputs (its backward's inputs)."""
    return tuple(fn._input_metadata) if "output shapes" not in MISSING else ()


def sequence_nr(fn) -> int:
    """Autograd's creation number of the Node."""
    return fn._sequence_nr()


# -- saved tensors, read without running unpack hooks ------------------------------------------
#: A saved tensor that backward already released.
FREED = object()
#: A saved tensor packed by a saved-tensor hook (checkpoint, offloading, the user's own):
#: reading it would run the unpack hook (re-running a checkpointed forward), so it is not read.
PACKED = object()

_ATTRS: dict[type, tuple[tuple[str, str, str], ...]] = {}


def _saved_attrs(fn) -> tuple[tuple[str, str, str], ...]:
    """(name, attribute, raw attribute) of each saved tensor of this kind of Node."""
    kind = type(fn)
    attrs = _ATTRS.get(kind)
    if attrs is None:
        attrs = _ATTRS[kind] = tuple(
            (a.removeprefix("_saved_"), a, "_raw" + a) for a in dir(fn)
            if a.startswith("_saved_") and not a.endswith(("_sym_sizes", "_sym_strides"))
        )
    return attrs


def _has_unpack_hook(raw) -> bool:
    if type(raw) is list or type(raw) is tuple:
        return any(r.unpack_hook is not None for r in raw)
    return raw is not None and raw.unpack_hook is not None


def packing_hooks_active() -> bool:
    """Whether tensors saved now go through saved-tensor hooks (checkpoint, offloading...)."""
    return "saved tensors" in MISSING or _top_saved_hooks(False) is not None


if "saved tensors" not in MISSING:
    _top_saved_hooks = torch._C._autograd._top_saved_tensors_default_hooks


def saved_values(fn, packed: bool | None = None) -> list[tuple[str, object]]:
    """(name, value) of each tensor the Node saved for backward: a tensor, a tuple of them,
    None (an optional input not given), :data:`FREED` or :data:`PACKED`. A tensor written to
    in place since it was saved (which backward will refuse) is given as autograd holds it.

    A value is unpacked only when no unpack hook is installed on it: unpacking then just
    returns the tensor; with a hook it would call the user's code (or re-run a checkpoint).
    ``packed``: whether the Node was just made under saved-tensor hooks (all its tensors went
    through them, or none did), which saves looking at each; None: look at each.
    """
    attrs = _saved_attrs(fn)
    if packed or "saved tensors" in MISSING:
        return [(name, PACKED) for name, _, _ in attrs]
    out = []
    for name, attr, raw_attr in attrs:
        if packed is None and _has_unpack_hook(getattr(fn, raw_attr, None)):
            out.append((name, PACKED))
            continue
        try:
            out.append((name, getattr(fn, attr)))
        except RuntimeError:  # freed by backward (retain_graph=False), or written to since:
            data = saved_data(fn, name)  # then autograd still holds it, as it was written
            out.append((name, FREED if data is None else data))
    return out


def is_freed(fns) -> bool:
    """Whether backward already released this graph's saved tensors (the first few nodes tell)."""
    checked = 0
    for fn in islice(fns, 64):
        for _, value in saved_values(fn):
            if value is FREED:
                return True
            checked += hasattr(value, "shape")
        if checked >= 3:
            break
    return False


# -- versions: what an in-place write bumps and backward checks ---------------------------------
#: A tensor's version counter: each in-place write to it (or to a view of it) adds one.
version = operator.attrgetter("_version")


def saved_data(fn, entry: str):
    """The tensor behind the saved entry ``entry`` (``self``, ``tensors[2]``, as
    :func:`saved_values` names them) as autograd holds it, never unpacked (unpacking one that
    was written to since raises): None when released, packed by a hook, or not a tensor."""
    name, _, index = entry.partition("[")
    raw = getattr(fn, "_raw_saved_" + name, None)
    if index and isinstance(raw, (list, tuple)):
        raw = raw[int(index.rstrip("]"))]
    data = getattr(raw, "data", None) if raw is not None and "memory" not in MISSING else None
    return data if isinstance(data, torch.Tensor) else None


# -- memory: what each Node holds for backward, read without unpacking -----------------------
_RAW: dict[type, tuple[str, ...]] = {}


def _raw_attrs(fn) -> tuple[str, ...]:
    """The ``_raw_saved_*`` attributes of this kind of Node (``_raw_saved_tensors`` for a
    custom ``autograd.Function``)."""
    kind = type(fn)
    attrs = _RAW.get(kind)
    if attrs is None:
        attrs = _RAW[kind] = tuple(a for a in dir(fn) if a.startswith("_raw_saved_"))
    return attrs


_LISTED: dict[type, bool] = {}


def saved_values_hold_all(fn) -> bool:
    """Whether :func:`saved_values` reaches every tensor the Node holds for backward: each
    raw slot has its ``_saved_*`` twin (a custom ``autograd.Function`` holds its tensors in
    ``_raw_saved_tensors`` alone)."""
    kind = type(fn)
    listed = _LISTED.get(kind)
    if listed is None:
        names = {attr for _, attr, _ in _saved_attrs(fn)}
        listed = _LISTED[kind] = ("memory" not in MISSING
                                  and all(a[len("_raw"):] in names for a in _raw_attrs(fn)))
    return listed


def held_for_backward(fn) -> list:
    """What autograd holds for each tensor the Node saved, never unpacked: the tensor itself
    (a saved output as a tensor without ``grad_fn``), what a saved-tensor hook packed it into
    (any object), or None once backward released it (or an optional input was not given)."""
    attrs = _RAW.get(type(fn))
    if attrs is None:
        attrs = _raw_attrs(fn) if "memory" not in MISSING else ()
    if not attrs:
        return []
    out = []
    for attr in attrs:
        try:
            raw = getattr(fn, attr, None)
        except RuntimeError:  # released: some custom Functions (FSDP's) raise, not give None
            out.append(None)
            continue
        if type(raw) is list or type(raw) is tuple:
            out.extend(r.data if r is not None else None for r in raw)
        elif raw is not None:
            out.append(raw.data)
    return out
