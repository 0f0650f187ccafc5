"""Every use of PyTorch's private API in gradviz, in one place, checked once at import.

Private names can change in any torch release. Kept here (and only here: a test parses every
other module and fails on a private torch attribute), a change breaks one file, and the check
below says at import which gradviz features an installed torch cannot support, instead of
failing deep inside the user's backward pass.

What each feature uses, and the torch release that first had it:

- capture: ``torch._C._current_autograd_node`` (2.1; one shared pre-hook finds its Node),
  ``torch._C._current_graph_task_id`` (2.1; a hook fired by a later pass after a failed one),
  ``Variable._execution_engine.queue_callback`` (1.x; the end of the pass);
- saved tensors without running unpack hooks: ``SavedTensor.data`` and
  ``SavedTensor.unpack_hook`` on ``fn._raw_saved_*`` (added with compiled autograd's saved-tensor
  hook support, 2.5 as far as could be established; probed below, not assumed);
- output shapes and creation order: ``Node._input_metadata``, ``Node._sequence_nr()`` (2.1);
- record() beside torch.compile: ``torch.compiler.is_compiling`` (public, 2.3).

So the floor gradviz supports is torch 2.5 (:data:`FLOOR`); it is developed and tested on
2.13. An older torch still imports gradviz, with one GradvizWarning naming what is missing;
a missing capture API then makes ``trace`` raise a clear error before any hook is armed.
"""

from __future__ import annotations

import warnings
from itertools import islice

import torch

from .errors import GradvizError, GradvizWarning

FLOOR = (2, 5)


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
    if not (hasattr(saved, "data") and hasattr(saved, "unpack_hook")):
        missing["saved tensors"] = "SavedTensor.data / SavedTensor.unpack_hook"
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

_ATTRS: dict[type, tuple[str, ...]] = {}


def _saved_attrs(fn) -> tuple[str, ...]:
    kind = type(fn)
    attrs = _ATTRS.get(kind)
    if attrs is None:
        attrs = tuple(
            a.removeprefix("_saved_") for a in dir(fn)
            if a.startswith("_saved_") and not a.endswith(("_sym_sizes", "_sym_strides"))
        )
        _ATTRS[kind] = attrs
    return attrs


def _has_unpack_hook(raw) -> bool:
    if isinstance(raw, (list, tuple)):
        return any(_has_unpack_hook(r) for r in raw)
    return getattr(raw, "unpack_hook", None) is not None


def saved_values(fn) -> list[tuple[str, object]]:
    """(name, value) of each tensor the Node saved for backward: a tensor, a tuple of them,
    None (an optional input not given), :data:`FREED` or :data:`PACKED`.

    A value is unpacked only when no unpack hook is installed on it: unpacking then just
    returns the tensor; with a hook it would call the user's code (or re-run a checkpoint).
    """
    if "saved tensors" in MISSING:
        return [(name, PACKED) for name in _saved_attrs(fn)]
    out = []
    for name in _saved_attrs(fn):
        raw = getattr(fn, "_raw_saved_" + name, None)
        if raw is not None and _has_unpack_hook(raw):
            out.append((name, PACKED))
            continue
        try:
            out.append((name, getattr(fn, "_saved_" + name)))
        except RuntimeError:  # freed by backward (retain_graph=False)
            out.append((name, FREED))
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
