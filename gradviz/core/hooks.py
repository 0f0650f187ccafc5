"""Backward hooks that capture gradients while autograd runs, then remove themselves.

A hook runs once per autograd Node inside the engine, possibly on the engine's own
threads, so it only records: it appends the node id to the run order and keeps the
gradients (a reference when small, device-side stats when large). Everything that costs
time — statistics of small tensors, histograms, conversion to numbers — happens later,
when somebody reads them.
"""

from __future__ import annotations

from functools import partial

import torch

from .snapshot import Snapshot


def _queue_end_of_pass(callback) -> None:
    """Run ``callback`` when the current backward pass (graph task) finishes."""
    torch.autograd.Variable._execution_engine.queue_callback(callback)


class Capture:
    """Gradients seen during one backward pass, by node id and output number."""

    def __init__(self, cap: int):
        self.cap = cap
        self.ran = False
        self._handles: list = []
        self._queued = False
        self._order: list[int] = []  # node ids in the order the engine executed them
        self._raw: dict[int, tuple] = {}  # node id -> gradient per output, as kept by the hook
        self._snaps: dict[int, tuple] = {}
        self._order_index: dict[int, int] | None = None

    # -- arming -----------------------------------------------------------------------
    def arm(self, kinds: list[str], fns: list, inputs=()) -> None:
        """One hook per node: a pre-hook on each op (its ``grad_outputs`` are the gradients
        we want), a tensor hook on each leaf (AccumulateGrad does not run under
        ``torch.autograd.grad``, but tensor hooks on the inputs do). ``inputs``: (id, output_nr,
        tensor) of intermediate tensors that ``torch.autograd.grad`` will stop at.
        """
        hook, tensor_hook = self._hook, self._tensor_hook
        self._handles = [
            fn.variable.register_hook(partial(tensor_hook, nid, 0)) if kind == "leaf"
            else fn.register_prehook(partial(hook, nid))
            for nid, (kind, fn) in enumerate(zip(kinds, fns))
        ]
        self._handles += [t.register_hook(partial(tensor_hook, nid, nr)) for nid, nr, t in inputs]

    def disarm(self) -> None:
        handles, self._handles = self._handles, []
        for h in handles:
            h.remove()

    @property
    def armed(self) -> bool:
        return bool(self._handles)

    def _hook(self, nid: int, grad_outputs):
        if not self._queued:
            self._queued = True
            _queue_end_of_pass(self._end_of_pass)
        if nid not in self._raw:  # a tensor hook on an input may have fired first
            self._order.append(nid)  # list.append is atomic under the GIL: safe from engine threads
        self._raw[nid] = tuple(map(self._keep, grad_outputs))

    def _tensor_hook(self, nid: int, output_nr: int, grad):
        if not self._queued:
            self._queued = True
            _queue_end_of_pass(self._end_of_pass)
        kept = self._raw.get(nid)
        if kept is None:
            self._order.append(nid)
            kept = ()
        kept = kept + (None,) * (output_nr + 1 - len(kept))
        self._raw[nid] = kept[:output_nr] + (self._keep(grad),) + kept[output_nr + 1:]

    def _keep(self, grad):
        if grad is None:
            return None
        if grad.requires_grad:  # create_graph=True: keep the value, not the double-backward graph
            grad = grad.detach()
        if grad.numel() <= self.cap:
            # A reference costs nothing now; it also stops autograd from accumulating into this
            # buffer in place or stealing it for .grad (it copies instead), so it stays valid.
            return grad
        return Snapshot.of(grad, self.cap)

    def _end_of_pass(self) -> None:
        self.ran = True
        self.disarm()

    # -- reading ----------------------------------------------------------------------
    @property
    def order(self) -> list[int]:
        """Node ids in the order the backward pass reached them."""
        return self._order

    def order_of(self, nid: int) -> int | None:
        if self._order_index is None or len(self._order_index) != len(self._order):
            self._order_index = {n: i for i, n in enumerate(self._order)}
        return self._order_index.get(nid)

    def snapshots(self, nid: int) -> tuple:
        snaps = self._snaps.get(nid)
        if snaps is None:
            raw = self._raw.get(nid)
            if raw is None:
                return ()
            snaps = tuple(_as_snapshot(g) for g in raw)
            self._snaps[nid] = snaps
        return snaps

    def set_loaded(self, order: list[int], snaps: dict[int, tuple]) -> None:
        """Fill from a saved session: no hooks, no autograd."""
        self._order = list(order)
        self._snaps = dict(snaps)
        self.ran = bool(order) or bool(snaps)


def _as_snapshot(g) -> Snapshot | None:
    if g is None or isinstance(g, Snapshot):
        return g
    snap = Snapshot(tuple(g.shape), str(g.dtype).removeprefix("torch."), str(g.device))
    snap.data = g if g.device.type == "cpu" else g.cpu()
    return snap
