"""Backward hooks that capture gradients while autograd runs, then remove themselves.

A hook runs once per autograd Node inside the engine, possibly on the engine's own
threads, so it only records: it keeps the gradients under the node id (a reference while
they fit in the pass's memory budget, else a number in the sketch book), and the order the
ids arrive in is the run order. Everything that costs time — statistics of small tensors,
histograms, conversion to numbers — happens later, when somebody reads them.
"""

from __future__ import annotations

import math
import warnings
import weakref
from functools import partial

import torch

from . import internals
from .budget import DEFAULT_BUDGET, Budget, address, format_bytes
from .captured import Captured
from .errors import GradvizWarning
from .sketchbook import SketchBook
from .snapshot import DEFAULT_CAP, Snapshot
from .walk import ACCUMULATE_GRAD


class _EndOfPass:
    """The end-of-pass callback torch holds for the pass being captured; gradviz watches it
    through a weak reference, so it knows when torch dropped that pass."""

    __slots__ = ("capture", "__weakref__")

    def __init__(self, capture: "Capture"):
        self.capture = capture

    def __call__(self) -> None:
        self.capture._end_of_pass()


class Capture(Captured):
    """Gradients seen during one backward pass, by node id and output number."""

    def __init__(self, cap: int | None = None, budget: int = DEFAULT_BUDGET):
        #: ``cap``, the old rule, for whoever passes it: gradients over ``cap`` elements are
        #: summarised and the budget is not used. None: they are kept whole within ``budget``.
        #: ``keep_full``: the tensors the user named or passed as ``trace(keep=...)``.
        super().__init__(cap)
        self.budget = Budget(budget)
        self._ran = False
        #: The first error met while summarising a gradient (shown once, at the end of the pass)
        self.error: Exception | None = None
        self._handles: list = []  # removes the Node pre-hooks and tensor hooks
        #: The backward pass (graph task) the hooks first fired in; None before it.
        self._task: int | None = None
        self._pass = None  # a weak reference to that pass's end-of-pass callback
        # node id -> per output (a tuple, or bare for one output): the gradient itself, None,
        # or its number in the sketch book. A dict keeps its keys in the order they came:
        # the order the engine ran the nodes in, with no list of its own to append to.
        self._raw: dict = {}
        self._sketches = SketchBook()
        self._snaps: dict[int, tuple] = {}
        self._index: dict = {}  # autograd Node -> node id, for the shared pre-hook

    # -- arming -----------------------------------------------------------------------
    def arm(self, fns: list, index: dict, inputs=()) -> None:
        """One hook per node: a pre-hook on each op (its ``grad_outputs`` are the gradients
        we want), a tensor hook on each leaf (AccumulateGrad does not run under
        ``torch.autograd.grad``, but tensor hooks on the inputs do). ``inputs``: (id, output_nr,
        tensor) of intermediate tensors that ``torch.autograd.grad`` will stop at.
        """
        # One hook object for every op: it asks autograd which Node is running.
        internals.require("capture")
        self._index = index
        self._sketches.pace(len(fns), self._raw.__len__)
        hook, tensor_hook = self._hook, self._tensor_hook
        # Nodes through torch's own registration (one RemovableHandle each): nothing of
        # torch's is patched, so a user's hooks and other threads never see gradviz's.
        leaves = internals.LeafHooks()
        handles = [leaves]
        add_leaf, add = leaves.add, handles.append
        for nid, fn in enumerate(fns):
            if type(fn) is ACCUMULATE_GRAD:
                add_leaf(fn.variable, partial(tensor_hook, nid, 0))
            else:
                add(fn.register_prehook(hook))
        # Tensor.register_hook on a non-leaf also wires the tensor to its grad_fn: use it as is
        handles += [t.register_hook(partial(tensor_hook, nid, nr)) for nid, nr, t in inputs]
        if self.flows is not None:
            handles += self.flows.arm(fns, self)
        self._handles = handles

    def disarm(self) -> None:
        handles, self._handles = self._handles, []
        for handle in handles:
            handle.remove()
        self._index = {}

    @property
    def armed(self) -> bool:
        return bool(self._handles)

    def _hook(self, grad_outputs):
        if self._task != internals.current_graph_task() and not self._first_pass():
            return
        nid = self._index[internals.current_node()]
        raw = self._raw  # a tensor hook on an input may have put nid in it first: it keeps its place
        full = nid in self.keep_full
        if len(grad_outputs) == 1:
            # Stored bare, not in a tuple: then the pass leaves no object per node for the
            # cyclic GC to walk, which otherwise took up to a third of a narrow model's pass.
            raw[nid] = self._keep(grad_outputs[0], full)
        else:
            raw[nid] = tuple(self._keep(g, full) for g in grad_outputs)

    def _tensor_hook(self, nid: int, output_nr: int, grad):
        if self._task != internals.current_graph_task() and not self._first_pass():
            return
        kept = self.kept(nid)
        kept = kept + (None,) * (output_nr + 1 - len(kept))
        kept_grad = self._keep(grad, nid in self.keep_full, hold=False)
        self._raw[nid] = kept[:output_nr] + (kept_grad,) + kept[output_nr + 1:]

    def _first_pass(self) -> bool:
        """Whether a hook firing in another pass than ``_task`` may capture: only when no pass
        fired first. A pass that raised never runs its end-of-pass callback, so its hooks would
        stay armed and capture the user's next pass on this graph; torch drops the callback
        with its graph task, raised or not, and a dead callback says the pass is over: disarm.
        A live one means a pass nested in ours (a reentrant checkpoint's): it is not ours."""
        if self._task is None:
            self._task = internals.current_graph_task()
            end = _EndOfPass(self)
            self._pass = weakref.ref(end)
            internals.queue_end_of_pass(end)
            return True
        if self._pass() is None:
            self.disarm()
        return False

    def _keep(self, grad, full: bool = False, hold: bool = True):
        if grad is None:
            return None
        n = grad.numel()
        if not full and grad.layout is torch.strided and (
                n > self.cap if self.cap is not None
                else not self.budget.take(n * grad.element_size(), address(grad))):
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
        self._ran = True
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
    def ran(self) -> bool:
        return self._ran

    def _reached(self):
        # the dict keeps its keys in the order the hooks added them: the run order
        return self._raw

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

    def why_summarised(self) -> str:
        if self.cap is not None:
            return (f"gradients over cap={self.cap} elements are summarised; to keep it whole, "
                    "pass keep=[tensor] to gradviz.trace, or leave cap out")
        return (f"the pass's whole gradients filled the memory budget of "
                f"{format_bytes(self.budget.limit)}; to keep it whole, pass keep=[tensor] to "
                "gradviz.trace, or a larger budget (budget=\"1GiB\"; gradviz run/export --budget)")

    def _as_snapshot(self, g, meta: tuple, full: bool) -> Snapshot | None:
        if g is None:
            return None
        if isinstance(g, int):
            return self._sketches.snapshot(g, *meta)
        if g.layout is not torch.strided:  # made dense once, when somebody reads it: whole
            # if it was named or its dense form fits in the budget
            whole = full or self.cap is None and g.numel() * g.element_size() <= self.budget.limit
            cap = DEFAULT_CAP if self.cap is None else self.cap
            return Snapshot.of(g.to_dense(), math.inf if whole else cap)
        return Snapshot.whole(g)
