"""The gradient that flows along each edge: what a consumer's backward sent to its input.

Autograd sums the gradients that a tensor's consumers send back (its input buffer), then
runs the tensor's own backward on the sum: the flows are the terms of that sum. Where a
tensor (one output of a node: a *slot*) has one consumer, the single term is the sum itself,
the very tensor the node's pre-hook captures, so nothing more is kept. Only where a slot has
several consumers does a post-hook on each consumer keep its ``grad_inputs`` for that slot,
under the same memory budget as the node gradients: in a transformer about one node in
five, so flows cost a fraction of capture itself.

Edges are numbered by their place in ``graph.edges``; a flow is read as a Snapshot, like a
node's gradient, and as a tensor with the same rule (None: no gradient was sent;
:class:`~gradviz.core.graph.SummarisedGradError`: only a summary was kept).
"""

from __future__ import annotations

import math
from collections import Counter
from functools import partial
from itertools import chain
from typing import TYPE_CHECKING

import torch

from . import internals
from .errors import GradvizError, SummarisedGradError

if TYPE_CHECKING:
    from .graph import GradGraph, GradNode
    from .hooks import Capture
    from .snapshot import Snapshot

#: Flows are captured by default on graphs of up to this many autograd nodes; above it, on
#: demand (``trace(..., flows=True)``, ``gradviz run/export --flows``). Their backward costs
#: little (1.0-1.1x of capture at width 256, ``benchmarks/capture.py --flows``), but planning
#: them made ``trace`` 1.7x as long at 20,000 nodes (1.0-1.2x at 1,000): past this size that
#: would take ``trace`` beyond its target of 4x the bare walk.
DEFAULT_MAX_NODES = 5_000


class FlowError(GradvizError, LookupError):
    """A flow asked of an edge that does not exist, or of a node from another graph."""


class FlowsNotCapturedError(FlowError):
    """Flows asked of a graph whose backward pass did not capture them."""


class FlowStore:
    """Flows into the shared slots of one traced pass (or of a loaded session)."""

    def __init__(self):
        #: dst node id -> ((position in its next_functions, src node id, place among its
        #: edges), ...) of the inputs that lead into shared slots
        self._plan: dict[int, tuple[tuple[int, int, int], ...]] = {}
        #: dst node id -> what the hook kept, one item per planned position (bare for one).
        #: Its key order is the order the consumers ran: the order autograd summed them in.
        self._got: dict = {}
        self._snaps: dict[int, "Snapshot | None"] = {}  # edge number -> snapshot, once read
        self._arrival: dict[int, int] | None = None  # edge number -> place in the sum
        self._seen = 0  # consumers that had reported when _arrival was made
        self._loaded = False

    # -- capture ----------------------------------------------------------------------
    @classmethod
    def planned(cls, fns: list, index: dict) -> "FlowStore":
        """A store that will keep, in the coming pass, every flow into a shared slot.

        Built in C-speed steps (one ``next_functions`` read per node, a Counter, set
        membership), since it runs in ``trace`` for every pass: a Python loop over the
        edges doubled ``trace`` at 20,000 nodes."""
        store = cls()
        nexts = [fn.next_functions for fn in fns]
        counts = Counter(chain.from_iterable(nexts))
        shared = {slot for slot, n in counts.items() if n > 1 and slot[0] is not None}
        if shared:
            store._plan = {dst: _planned_inputs(nf, shared, index)
                           for dst, nf in enumerate(nexts) if not shared.isdisjoint(nf)}
        return store

    def arm(self, fns: list, capture: "Capture") -> list:
        """One post-hook on each consumer of a shared slot, keeping what it sends with
        ``capture``'s rules (its budget, its pass); returns their handles. The store holds no
        reference to the capture, which holds the store."""
        hook = partial(self._hook, capture)
        return [fns[dst].register_hook(hook) for dst in self._plan]

    def _hook(self, capture: "Capture", grad_inputs, grad_outputs):
        if capture._task != internals.current_graph_task() and not capture._first_pass():
            return
        dst = capture._index[internals.current_node()]
        plan = self._plan[dst]
        keep, full = capture._keep, capture.keep_full
        if len(plan) == 1:  # bare, as the capture stores one output (no tuple for the GC)
            i, src, _ = plan[0]
            self._got[dst] = keep(grad_inputs[i], src in full)
        else:
            self._got[dst] = tuple(keep(grad_inputs[i], src in full) for i, src, _ in plan)

    # -- loading ----------------------------------------------------------------------
    @classmethod
    def loaded(cls, flows: list[tuple[int, "Snapshot | None"]]) -> "FlowStore":
        """From a session: (edge number, snapshot) of each kept flow, in the order summed."""
        store = cls()
        store._loaded = True
        store._snaps = dict(flows)
        store._arrival = {e: i for i, (e, _) in enumerate(flows)}
        return store

    # -- reading ----------------------------------------------------------------------
    def kept_edges(self, graph: "GradGraph") -> list[int]:
        """Numbers of the edges whose flows this store holds, in the order autograd summed."""
        arrival = self.arrival(graph)
        return sorted(arrival, key=arrival.__getitem__)

    def arrival(self, graph: "GradGraph") -> dict[int, int]:
        """Edge number -> its place in the order the flows reached their sums."""
        if not self._loaded and (self._arrival is None or self._seen != len(self._got)):
            first = first_edges(graph)
            order: dict[int, int] = {}
            got = list(self._got)  # one step, even while hooks add to it
            for dst in got:
                for _, _, k in self._plan[dst]:
                    order[first[dst] + k] = len(order)
            self._arrival, self._seen = order, len(got)
        return self._arrival

    def holds(self, e: int, graph: "GradGraph") -> bool:
        """Whether edge ``e`` leads into a shared slot (its flow is kept here)."""
        src, _, nr = graph.edges[e]
        return len(slots_of(graph).get((src, nr), ())) > 1

    def snapshot(self, e: int, graph: "GradGraph") -> "Snapshot | None":
        if e in self._snaps or self._loaded:
            return self._snaps.get(e)
        src, dst, nr = graph.edges[e]
        plan = self._plan.get(dst, ())
        got = self._got.get(dst)
        if got is None:
            return None
        k = e - first_edges(graph)[dst]
        item = got if len(plan) == 1 else got[[place for _, _, place in plan].index(k)]
        meta = graph.meta(src)
        capture = graph.capture
        snap = (capture._as_snapshot(item, meta[nr], src in capture.keep_full)
                if nr < len(meta) else None)
        self._snaps[e] = snap
        return snap


def _planned_inputs(nf: tuple, shared: set, index: dict) -> tuple[tuple[int, int, int], ...]:
    """(position, src node id, place among the consumer's edges) of each input of a consumer
    that leads into a shared slot; edges leave out the None inputs, positions do not."""
    out, k = [], 0
    for i, slot in enumerate(nf):
        if slot[0] is None:
            continue
        if slot in shared:
            out.append((i, index[slot[0]], k))
        k += 1
    return tuple(out)


# -- the graph's questions ------------------------------------------------------------------
def first_edges(graph: "GradGraph") -> dict[int, int]:
    """Consumer node id -> the number of its first edge (edges are grouped by consumer)."""
    cached = graph.__dict__.get("_flow_first")
    if cached is None or cached[0] is not graph.edges:
        first: dict[int, int] = {}
        for e, (_, dst, _) in enumerate(graph.edges):
            first.setdefault(dst, e)
        cached = graph.__dict__["_flow_first"] = (graph.edges, first)
    return cached[1]


def slots_of(graph: "GradGraph") -> dict[tuple[int, int], list[int]]:
    """(node id, output number) -> numbers of the edges that leave it, in edge order."""
    cached = graph.__dict__.get("_flow_slots")
    if cached is None or cached[0] is not graph.edges:
        slots: dict[tuple[int, int], list[int]] = {}
        for e, (src, _, nr) in enumerate(graph.edges):
            slots.setdefault((src, nr), []).append(e)
        cached = graph.__dict__["_flow_slots"] = (graph.edges, slots)
    return cached[1]


def captured(graph: "GradGraph") -> bool:
    """Whether the graph's flows can be read (captured, and backward has run)."""
    return getattr(graph.capture, "flows", None) is not None and graph.has_grads


def _store(graph: "GradGraph") -> FlowStore:
    store = getattr(graph.capture, "flows", None)
    if store is None:
        raise FlowsNotCapturedError(
            f"flows were not captured for this graph: {len(graph):,} nodes is more than the "
            f"{DEFAULT_MAX_NODES:,} up to which they are captured by default; pass "
            "gradviz.trace(..., flows=True) (gradviz run/export --flows) before backward"
            if len(graph) > DEFAULT_MAX_NODES else
            "flows were not captured for this graph: it was traced with flows=False (or "
            "saved without them); trace it with flows=True before backward")
    if not graph.has_grads:
        raise FlowsNotCapturedError(
            "backward has not run on this graph since trace: flows are captured during the "
            "traced backward pass")
    return store


def _resolve(graph: "GradGraph", key, role: str) -> tuple[int, int | None]:
    """(node id, output number or None) of a node, a name or a tensor."""
    if hasattr(key, "graph") and hasattr(key, "id"):  # a GradNode (graph.py imports this module)
        if key.graph is not graph:
            raise FlowError(f"the {role} {key!r} belongs to another graph than this one")
        return key.id, None
    if isinstance(key, str):
        try:
            return graph.find(key).id, None
        except KeyError as exc:
            raise FlowError(f"the {role}: {exc.args[0]}") from None
    if isinstance(key, torch.Tensor):
        try:
            nid, nr = graph._locate(key)
        except KeyError as exc:
            raise FlowError(f"the {role} tensor (shape {list(key.shape)}): {exc.args[0]}") from None
        return nid, nr
    if isinstance(key, int) and not isinstance(key, bool) and 0 <= key < len(graph):
        return key, None
    raise FlowError(f"the {role} must be a node of this graph, a name or a tensor, not "
                    f"{type(key).__name__}")


def _label(graph: "GradGraph", nid: int) -> str:
    name = graph.cols.name[nid]
    return name if name else f"{graph.cols.op[nid]} (node {nid})"


def edges_between(graph: "GradGraph", src, dst) -> list[int]:
    """Numbers of the edges ``src -> dst`` (several for ``x * x``), in ``dst``'s input order."""
    s, nr = _resolve(graph, src, "source")
    d, _ = _resolve(graph, dst, "consumer")
    found = [e for e, (a, b, n) in enumerate(graph.edges)
             if a == s and b == d and (nr is None or n == nr)]
    if not found:
        raise FlowError(f"there is no edge {_label(graph, s)} -> {_label(graph, d)}: "
                        f"{_label(graph, d)} does not take "
                        + ("that output" if nr is not None else "it") + " as an input")
    return found


def flow_snapshot(graph: "GradGraph", e: int) -> "Snapshot | None":
    """The flow along edge ``e`` as a Snapshot; None: no gradient was sent along it."""
    store = _store(graph)
    if store.holds(e, graph):
        return store.snapshot(e, graph)
    src, _, nr = graph.edges[e]
    snaps = graph.nodes[src].grad_snapshots  # its one consumer's flow is its whole gradient
    return snaps[nr] if nr < len(snaps) else None


def norms(graph: "GradGraph", edges) -> dict[int, float | None]:
    """Edge number -> the norm of its flow over finite values (None: no gradient or no
    values), for ``edges`` at least. Each is worked out once per pass and kept on the graph
    (health mode's edge widths ask at every player step, for the edges drawn): a flow into a
    shared slot takes one reduction, the others are their source's gradient, whose stats the
    health colouring reads anyway."""
    store = _store(graph)
    key = (store, len(store._got), graph.edges)
    cached = graph.__dict__.get("_flow_norms")
    if cached is None or cached[0] != key:
        cached = graph.__dict__["_flow_norms"] = (key, {})
    found = cached[1]
    for e in edges:
        if e not in found:
            snap = flow_snapshot(graph, e)
            found[e] = snap.norm if snap is not None else None
    return found


def _tensor(graph: "GradGraph", e: int) -> torch.Tensor | None:
    snap = flow_snapshot(graph, e)
    if snap is None:
        return None
    if snap.data is None:
        src, dst, _ = graph.edges[e]
        raise SummarisedGradError(
            f"the gradient {_label(graph, dst)} sent to {_label(graph, src)} (shape "
            f"{list(snap.shape)}, norm {snap.stats['norm']:.6g}) was kept only as a summary: "
            f"{graph.capture.why_summarised()}. Its stats and histogram are in "
            "gradviz.core.flows.flow_snapshot")
    return snap.data


def flow(graph: "GradGraph", src, dst, which: int | None = None) -> torch.Tensor | None:
    """The gradient ``dst``'s backward sent to ``src`` along the edge ``src -> dst``;
    ``which``: the n-th of several edges between them (``x * x``), in ``dst``'s input order."""
    _store(graph)
    found = edges_between(graph, src, dst)
    if which is None:
        if len(found) > 1:
            raise FlowError(f"{len(found)} edges join {_label(graph, graph.edges[found[0]][0])} "
                            f"to {_label(graph, graph.edges[found[0]][1])} (it takes that "
                            f"input {len(found)} times): pick one with which=0..{len(found) - 1}")
        which = 0
    if not 0 <= which < len(found):
        raise FlowError(f"which={which}, but {len(found)} edge(s) join these nodes")
    return _tensor(graph, found[which])


def incoming(graph: "GradGraph", nid: int, output_nr: int = 0) -> list[int]:
    """Edges out of ``nid``'s output ``output_nr`` in the order autograd summed their flows
    (consumers that sent nothing last)."""
    store = _store(graph)
    edges = slots_of(graph).get((nid, output_nr), [])
    if len(edges) < 2:
        return list(edges)
    arrival = store.arrival(graph)
    return sorted(edges, key=lambda e: arrival.get(e, math.inf))


def flows_into(graph: "GradGraph", node, output_nr: int | None = None) -> list:
    """``[(consumer, gradient), ...]`` for each edge out of the node's output (a tensor's
    own output; else ``output_nr``, default 0), in the order autograd summed them: their sum
    is the node's gradient."""
    nid, nr = _resolve(graph, node, "node")
    nr = output_nr if output_nr is not None else (nr or 0)
    return [(graph.nodes[graph.edges[e][1]], _tensor(graph, e)) for e in incoming(graph, nid, nr)]


def outgoing(graph: "GradGraph", nid: int) -> list[int]:
    """Edges into ``nid`` (its inputs), in its input order: the flows its backward sent."""
    return [e for e, (_, dst, _) in enumerate(graph.edges) if dst == nid]


# -- the sum, in words ----------------------------------------------------------------------
def brief(snap: "Snapshot | None") -> str:
    """A flow in a few characters: a number for a scalar, ``[..]`` up to 4 elements, the
    norm above (or where only a summary was kept), the shape where there are no numbers."""
    if snap is None:
        return "no gradient"
    if snap.data is not None and snap.numel <= 4:
        values = snap.data.detach().reshape(-1).tolist()
        text = ", ".join(_number(v) for v in values)
        return text if snap.shape == () else f"[{text}]"
    if not snap.has_values:  # a meta tensor's: a shape, no numbers
        return f"{list(snap.shape)}, no values"
    return f"‖{_number(snap.stats['norm'])}‖"


def _number(v) -> str:
    if isinstance(v, complex):
        return f"{v:.4g}"
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def spell_sum(graph: "GradGraph", node: "GradNode") -> str:
    """``A.grad = [4, 5, 6] via C + [1, 1, 1] via D``: a node's gradient as the flows its
    consumers sent, one line per output that has consumers."""
    lines = []
    for nr in range(max(1, node.outputs)):
        edges = incoming(graph, node.id, nr)
        if not edges:
            continue
        name = node.name or node.op
        what = f"{name}.grad" if node.outputs <= 1 else f"{name}.grads[{nr}]"
        terms = " + ".join(f"{brief(flow_snapshot(graph, e))} via "
                           f"{graph.nodes[graph.edges[e][1]].label}" for e in edges)
        snaps = node.grad_snapshots
        total = brief(snaps[nr] if nr < len(snaps) else None)
        lines.append(f"{what} = {terms}" + (f"  (= {total})" if len(edges) > 1 else ""))
    return "\n".join(lines)


def spell_sent(graph: "GradGraph", node: "GradNode") -> str:
    """What the node's backward sent to each of its inputs, one line each."""
    return "\n".join(f"to {graph.nodes[graph.edges[e][0]].label}: "
                     f"{brief(flow_snapshot(graph, e))}" for e in outgoing(graph, node.id))


def describe(node: "GradNode") -> str:
    """The inspector's flows section: the sum into the node, then what it sent on; empty
    where the pass captured no flows."""
    graph = node.graph
    if not captured(graph):
        return ""
    into, sent = spell_sum(graph, node), spell_sent(graph, node)
    return "\n\n".join(part for part in (
        into and f"Received from its consumers:\n{into}",
        sent and f"Sent back to its inputs:\n{sent}") if part)
