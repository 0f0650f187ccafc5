"""Backward hooks that capture gradients while autograd runs, then remove themselves.

A hook runs once per autograd Node inside the engine, possibly on the engine's own
threads, so it only records: it keeps the gradients under the node id (a reference when
small, a number in the sketch book when large), and the order the ids arrive in is the run
order. Everything that costs time — statistics of small tensors, histograms, conversion to
numbers — happens later, when somebody reads them.
"""

from __future__ import annotations

import math
import warnings
from collections import OrderedDict
from contextlib import contextmanager
from functools import partial

import torch
from torch.autograd.function import _HookMixin
from torch.utils.hooks import RemovableHandle

from .sketchbook import SketchBook
from .snapshot import Snapshot
from .walk import ACCUMULATE_GRAD
from .errors import GradvizWarning


_current_node = torch._C._current_autograd_node


def _queue_end_of_pass(callback) -> None:
    """Run ``callback`` when the current backward pass (graph task) finishes."""
    torch.autograd.Variable._execution_engine.queue_callback(callback)


class _HookDict(dict):
    """Where an autograd Node keeps its Python pre-hooks: 150 bytes smaller than the
    OrderedDict torch makes (one per node adds up at 100,000 nodes), and weakref-able like
    it, as torch's RemovableHandle needs when the user adds a hook to the same Node later."""

    __slots__ = ("__weakref__",)


@contextmanager
def fast_hook_registration():
    """Register hooks without building a ``RemovableHandle`` for each (most of their cost).

    Every Python hook on an autograd Node or tensor is stored by torch through
    ``_HookMixin._register_hook(hooks_dict, hook)``. While this context is open, that
    function stores the hook under one key and remembers each dict; the handle it yields
    removes them all by that key. The original function is restored on exit.
    """
    key = RemovableHandle.next_id
    RemovableHandle.next_id += 1
    handle = _KeyHandle(key)
    add = handle.dicts.append
    original = _HookMixin.__dict__["_register_hook"]

    def register(hooks_dict, hook):
        if hooks_dict is None:
            hooks_dict = _HookDict()
        hooks_dict[key] = hook
        add(hooks_dict)
        return hooks_dict, handle

    def register_on_tensor(tensor, hook):
        """What ``Tensor.register_hook`` does for a leaf, without its RemovableHandle."""
        hooks_dict = tensor._backward_hooks
        if hooks_dict is None:
            tensor._backward_hooks = hooks_dict = OrderedDict()  # torch wires it to the leaf
        hooks_dict[key] = hook
        add(hooks_dict)

    _HookMixin._register_hook = staticmethod(register)
    try:
        yield register_on_tensor, handle
    finally:
        _HookMixin._register_hook = original


class _KeyHandle:
    """The handle torch hands back while fast registration is on: removes them all."""

    def __init__(self, key: int):
        self.id = key
        self.dicts: list[dict] = []  # every hooks dict a hook went into

    def remove(self) -> None:
        dicts, self.dicts = self.dicts, []
        for hooks_dict in dicts:
            hooks_dict.pop(self.id, None)


class Capture:
    """Gradients seen during one backward pass, by node id and output number."""

    def __init__(self, cap: int):
        self.cap = cap
        #: Nodes whose gradients are kept whole whatever their size: the tensors the user named.
        self.keep_full: set[int] = set()
        self.ran = False
        #: The first error met while summarising a gradient (shown once, at the end of the pass)
        self.error: Exception | None = None
        self._handle: _KeyHandle | None = None  # removes the Node pre-hooks and leaf hooks
        self._tensor_handles: list = []
        self._queued = False
        # node id -> per output (a tuple, or bare for one output): the gradient itself, None,
        # or its number in the sketch book. A dict keeps its keys in the order they came:
        # the order the engine ran the nodes in, with no list of its own to append to.
        self._raw: dict = {}
        self._loaded_order: list[int] | None = None  # a saved session's, which has no _raw
        self._sketches = SketchBook()
        self._snaps: dict[int, tuple] = {}
        self._order_index: dict[int, int] | None = None
        self._index: dict = {}  # autograd Node -> node id, for the shared pre-hook

    # -- arming -----------------------------------------------------------------------
    def arm(self, fns: list, index: dict, inputs=()) -> None:
        """One hook per node: a pre-hook on each op (its ``grad_outputs`` are the gradients
        we want), a tensor hook on each leaf (AccumulateGrad does not run under
        ``torch.autograd.grad``, but tensor hooks on the inputs do). ``inputs``: (id, output_nr,
        tensor) of intermediate tensors that ``torch.autograd.grad`` will stop at.
        """
        # One hook object for every op: it asks autograd which Node is running.
        self._index = index
        self._sketches.pace(len(fns), self._raw.__len__)
        hook, tensor_hook = self._hook, self._tensor_hook
        with fast_hook_registration() as (on_tensor, handle):
            nid = 0
            for fn in fns:
                if type(fn) is ACCUMULATE_GRAD:
                    on_tensor(fn.variable, partial(tensor_hook, nid, 0))
                else:
                    fn.register_prehook(hook)
                nid += 1
        # Tensor.register_hook on a non-leaf also wires the tensor to its grad_fn: use it as is
        self._tensor_handles = [t.register_hook(partial(tensor_hook, nid, nr)) for nid, nr, t in inputs]
        self._handle = handle

    def disarm(self) -> None:
        handle, self._handle = self._handle, None
        if handle is not None:
            handle.remove()
        tensor_handles, self._tensor_handles = self._tensor_handles, []
        for handle in tensor_handles:
            handle.remove()
        self._index = {}

    @property
    def armed(self) -> bool:
        return bool(self._handle and self._handle.dicts or self._tensor_handles)

    def _hook(self, grad_outputs):
        nid = self._index[_current_node()]
        if not self._queued:
            self._queued = True
            _queue_end_of_pass(self._end_of_pass)
        raw = self._raw  # a tensor hook on an input may have put nid in it first: it keeps its place
        full = nid in self.keep_full
        if len(grad_outputs) == 1:
            # Stored bare, not in a tuple: then the pass leaves no object per node for the
            # cyclic GC to walk, which otherwise took up to a third of a narrow model's pass.
            raw[nid] = self._keep(grad_outputs[0], full)
        else:
            raw[nid] = tuple(self._keep(g, full) for g in grad_outputs)

    def _tensor_hook(self, nid: int, output_nr: int, grad):
        if not self._queued:
            self._queued = True
            _queue_end_of_pass(self._end_of_pass)
        kept = self.kept(nid)
        kept = kept + (None,) * (output_nr + 1 - len(kept))
        kept_grad = self._keep(grad, nid in self.keep_full, hold=False)
        self._raw[nid] = kept[:output_nr] + (kept_grad,) + kept[output_nr + 1:]

    def _keep(self, grad, full: bool = False, hold: bool = True):
        if grad is None:
            return None
        n = grad.numel()
        if n > self.cap and not full and grad.layout is torch.strided:
            try:
                return self._sketches.add(grad, n, hold)
            except Exception as exc:  # noqa: BLE001 - the user's backward must go on
                self.error = self.error or exc
                return None
        # A reference costs nothing now; it also stops autograd from accumulating into this
        # buffer in place or stealing it for .grad (it copies instead), so it stays valid.
        # A sparse gradient (nn.Embedding(sparse=True)) is kept too: it holds only its rows.
        # Under create_graph=True: the value, not the double-backward graph.
        return grad.detach() if grad.requires_grad else grad

    def _end_of_pass(self) -> None:
        self.ran = True
        self.disarm()
        try:
            self._sketches.finish()
        except Exception as exc:  # noqa: BLE001 - the user's backward must go on
            self.error = self.error or exc
        if self.error is not None:
            warnings.warn(f"gradviz could not summarise some gradients ({self.error!r}); they "
                          "show as not captured. The backward pass itself is unaffected.",
                          GradvizWarning, stacklevel=2)

    # -- reading ----------------------------------------------------------------------
    @property
    def order(self) -> list[int]:
        """Node ids in the order the backward pass reached them."""
        return list(self._reached)

    def order_of(self, nid: int) -> int | None:
        if self._order_index is None or len(self._order_index) != len(self._reached):
            # a copy: list() takes the dict's keys in one step, even while hooks add to it
            self._order_index = {n: i for i, n in enumerate(self.order)}
        return self._order_index.get(nid)

    @property
    def _reached(self):
        """The node ids reached, in order: the live dict's keys, or a saved session's list."""
        return self._raw if self._loaded_order is None else self._loaded_order

    def kept(self, nid: int) -> tuple:
        """What the hooks kept for ``nid``, one item per output (empty when nothing ran)."""
        raw = self._raw.get(nid, ())
        return raw if type(raw) is tuple else (raw,)

    def snapshots(self, nid: int, meta: tuple) -> tuple:
        """A Snapshot (or None) per output of ``nid``; ``meta`` gives each output's
        (shape, dtype, device), which sketches do not keep."""
        snaps = self._snaps.get(nid)
        if snaps is None:
            raw = self.kept(nid)
            if not raw:
                return ()
            full = nid in self.keep_full
            snaps = tuple(self._as_snapshot(g, m, full) for g, m in zip(raw, meta))
            self._snaps[nid] = snaps
        return snaps

    def set_loaded(self, order: list[int], snaps: dict[int, tuple]) -> None:
        """Fill from a saved session: no hooks, no autograd."""
        self._loaded_order = list(order)
        self._snaps = dict(snaps)
        self.ran = bool(order) or bool(snaps)

    def _as_snapshot(self, g, meta: tuple, full: bool) -> Snapshot | None:
        if g is None:
            return None
        if isinstance(g, int):
            return self._sketches.snapshot(g, *meta)
        if g.layout is not torch.strided:  # made dense once, when somebody reads it
            return Snapshot.of(g.to_dense(), math.inf if full else self.cap)
        return Snapshot.whole(g)
