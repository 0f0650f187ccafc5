"""``gradviz.trace``: walk the graph now, arm hooks for the next backward pass."""

from __future__ import annotations

import gc
import warnings
import weakref
from contextlib import contextmanager
from collections.abc import Sequence

import torch

from . import memory
from .budget import DEFAULT_BUDGET, parse_budget
from .diagnoses.unused import note_unused
from .errors import GradvizError, GradvizWarning
from .flows import DEFAULT_MAX_NODES, FlowStore
from .graph import GradGraph
from .hooks import Capture
from .internals import is_freed
from .livegraph import LiveGraph
from .names import find_names
from .record import ever_recording, recorded_roots, tag_of
from .snapshot import DEFAULT_CAP
from .traced import live_graphs
from .userframe import caller_locals, user_frame
from .walk import walk

_serial = 0  # numbers the traces, newest last (the keys of live_graphs)


class TraceError(GradvizError, ValueError):
    """The tensor given to ``trace`` has no autograd graph behind it."""


def _why_no_graph(t: torch.Tensor, position: str) -> str:
    if t.is_inference():
        return (f"{position} was created under torch.inference_mode(), so autograd recorded "
                "nothing for it. Compute it outside inference_mode to trace it.")
    if t.requires_grad:  # a leaf that wants a gradient
        return (f"{position} is a leaf tensor (you created it; it was not computed), so there is "
                "no graph behind it. Trace a tensor computed from it instead, e.g. the loss: "
                "gradviz.trace(loss).")
    return (f"{position} does not require grad, so autograd recorded no graph for it: none of "
            "its inputs had requires_grad=True, or it was made under torch.no_grad() or cut "
            "by .detach(). Set requires_grad=True on the inputs you care about "
            "(X.requires_grad_()) before computing it.")


def _roots(outputs) -> list[torch.Tensor]:
    tensors = [outputs] if isinstance(outputs, torch.Tensor) else outputs
    if not isinstance(tensors, Sequence) or not tensors:
        raise TraceError("trace() takes a tensor or a non-empty sequence of tensors, "
                         f"not {type(outputs).__name__}")
    for i, t in enumerate(tensors):
        position = "the tensor" if len(tensors) == 1 else f"output {i}"
        if not isinstance(t, torch.Tensor):
            raise TraceError(f"{position} is a {type(t).__name__}, not a torch.Tensor")
        if t.grad_fn is None:
            raise TraceError(_why_no_graph(t, position))
    return list(tensors)


def _apply_recording(graph: GradGraph) -> list:
    """Copy recorded values, module paths and source lines from the Nodes' tags; return the
    storages each tagged Node saved (None where untagged), for measuring memory."""
    c = graph.cols
    seen = [False] * len(graph)
    taken = [None] * len(graph)
    for nid, fn in enumerate(c.fn):
        if c.kind[nid] == "leaf":
            taken[nid] = ()  # a leaf's AccumulateGrad saves nothing
            continue
        tag = tag_of(fn)
        if tag is not None:
            seen[nid] = True
            c.module[nid], c.source[nid], c.saved[nid] = tag["module"] or None, tag["source"], tag["saved"]
            taken[nid] = tag["storages"]
            values = tag["values"]
            c.values[nid] = tuple(values.get(k) for k in range(max(values) + 1)) if values else None
    # Ops torch made internally (a transpose inside F.linear) were not seen by the recorder:
    # they belong where their consumer belongs. Edges are in walk order, so a consumer is
    # settled before its producers are reached.
    for src, dst, _ in graph.edges:
        if not seen[src] and c.kind[src] == "op" and (seen[dst] or c.module[dst] is not None):
            seen[src] = True
            c.module[src] = c.module[dst]
            c.source[src] = c.source[src] or c.source[dst]
    return taken


@contextmanager
def gc_paused():
    """Building 100,000 small objects would trigger the cyclic collector over and over, each
    time scanning the whole model: pause it (nothing built here forms a cycle), and file
    what was built as old on the way out (:func:`_age_tracked_objects`)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        _age_tracked_objects()
        if was_enabled:
            gc.enable()


def _age_tracked_objects() -> None:
    """Move every tracked object to the oldest GC generation, without collecting.

    Left young, the objects just built (one per autograd Node: 100,000 at 100,000 nodes)
    would be scanned by the young collections the backward pass triggers, then by a full
    one: +0.4 s, a fifth of a narrow 100,000-node pass. They live as long as the graph
    anyway. ``freeze()`` then ``unfreeze()`` is that move, two list splices; skipped when
    the process froze objects itself, which must stay frozen.
    """
    if gc.get_freeze_count() == 0:
        gc.freeze()
        gc.unfreeze()


def _kept_nodes(graph: GradGraph, keep) -> set[int]:
    """Node ids of the ``keep`` tensors, whose gradients are kept whole whatever the budget."""
    tensors = [keep] if isinstance(keep, torch.Tensor) else keep
    if not isinstance(tensors, Sequence):
        raise TraceError(f"keep takes a tensor or a sequence of tensors, not {type(keep).__name__}")
    nids = set()
    for i, t in enumerate(tensors):
        if not isinstance(t, torch.Tensor):
            raise TraceError(f"keep takes tensors; item {i} is a {type(t).__name__}")
        if not graph.contains(t):
            raise TraceError(f"keep: tensor {i} (shape {list(t.shape)}) is not in the traced "
                             "graph: it is not on the path from the traced output")
        nids.add(graph.node_for(t).id)
    return nids


def trace(outputs, *, inputs=(), keep=(), budget=DEFAULT_BUDGET, cap: int | None = None,
          namespace: dict | None = None, flows: bool | None = None) -> GradGraph:
    """Build the GradGraph of ``outputs`` and capture gradients during the next backward.

    ``inputs``: intermediate tensors a coming ``torch.autograd.grad(outputs, inputs)`` will
    stop at (autograd does not run their node, so only a hook on the tensor sees them).
    ``keep``: tensors whose gradients are kept whole whatever the budget (as are those held
    in variables of the caller). ``budget``: bytes of other gradients kept whole in the pass
    (an int, or a size such as ``"256MiB"``); past it, gradients are kept as their exact
    norm and a sample. ``cap``: the older rule, which replaces the budget: gradients of more
    elements are summarised. ``namespace``: where to look up variable names (default: the
    caller's frame). ``flows``: also keep the gradient sent along each edge (``g.flow``);
    None: on for graphs of up to ``DEFAULT_MAX_NODES`` autograd nodes (5,000).
    """
    global _serial
    tensors = _roots(outputs)
    limit = parse_budget(budget)
    with gc_paused():
        fns, index, n_outputs = walk([t.grad_fn for t in tensors])
        graph = LiveGraph(fns, index, n_outputs, Capture(cap, limit),
                          DEFAULT_CAP if cap is None else cap)
        kept = _kept_nodes(graph, keep)
        freed = is_freed(fns)
        if not freed:
            stops = [(index[t.grad_fn], t.output_nr, t) for t in inputs if t.grad_fn in index]
            if flows or flows is None and len(fns) <= DEFAULT_MAX_NODES:
                graph.capture.flows = FlowStore.planned(fns, index)
            graph.capture.arm(fns, index, stops)
            weakref.finalize(graph, graph.capture.disarm)
    if freed:
        message = ("backward already ran on this graph and freed it: the structure is shown, but "
                   "intermediate gradients are only captured when gradviz.trace() is called "
                   "before backward()")
        graph.warnings.append(message)
        warnings.warn(message, GradvizWarning, stacklevel=2)

    if namespace is not None:
        names, variables = find_names(graph, [namespace], modules=list(recorded_roots))
    else:
        frame = user_frame(2)
        with caller_locals(frame) as local:
            names, variables = find_names(graph, [local, frame.f_globals] if frame else [],
                                          modules=list(recorded_roots))
        del frame
    graph.names = names
    graph.capture.keep_full = variables | kept
    if ever_recording():
        taken = _apply_recording(graph)
        note_unused(graph)
        if not freed and graph.recorded:
            with gc_paused():  # its transient tensor wrappers would set off the collector
                # measured now, before backward releases the saved tensors
                graph.memory = memory.of_graph(graph, taken)

    _serial += 1
    live_graphs[_serial] = graph
    return graph
