"""GradGraph: the one model that the layout, the exporters and the app read.

The graph is stored by column (one list per field, indexed by node id) because a
100,000-node trace must cost little more than the bare ``grad_fn`` walk; :class:`GradNode`
is a light view over one row, made on demand. Node ids are running numbers in walk order,
never ``id(obj)``, so they are stable and comparable between runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Callable, Iterator

import networkx as nx
import torch

from .captured import Captured
from .errors import SummarisedGradError
from .flows import flow, flows_into
from .memory import of_graph, timeline
from .snapshot import DEFAULT_CAP, RECORD_CAP, Snapshot

KINDS = ("leaf", "op", "output")

#: Draws a graph as SVG text for Jupyter's ``_repr_svg_``. The core cannot import the layout,
#: which sits above it: ``gradviz/__init__.py`` sets it to the layout's SVG exporter.
svg_renderer: Callable[["GradGraph"], str] | None = None


@dataclass
class Columns:
    """Per-node fields, index = node id. Filled by the walk, by recording and by loading."""

    kind: list[str] = field(default_factory=list)
    op: list[str] = field(default_factory=list)
    fn: list = field(default_factory=list)  # autograd Node, None once loaded from a file
    name: list = field(default_factory=list)  # str | None
    module: list = field(default_factory=list)  # str | None
    source: list = field(default_factory=list)  # str | None
    values: list = field(default_factory=list)  # tuple[Snapshot | None, ...] | None, per output
    saved: list = field(default_factory=list)  # list[(name, shape, dtype)] | None
    meta: list = field(default_factory=list)  # tuple[(shape, dtype, device), ...] | None, per output
    seq: list = field(default_factory=list)  # autograd's creation number (see internals.py) | None

    def add(self, kind: str, op: str, fn) -> int:
        """Append one node to the walk's three columns; :meth:`fill` sizes the others."""
        self.kind.append(kind)
        self.op.append(op)
        self.fn.append(fn)
        return len(self.kind) - 1

    def fill(self) -> None:
        """Give every other column one empty entry per node (cheaper than appending each)."""
        n = len(self.kind)
        for col in (self.name, self.module, self.source, self.values, self.saved, self.meta, self.seq):
            col.extend([None] * (n - len(col)))


class GradNode:
    """One autograd Node of the graph: an op, a leaf tensor, or a traced output."""

    __slots__ = ("graph", "id")

    def __init__(self, graph: "GradGraph", node_id: int):
        self.graph = graph
        self.id = node_id

    def __repr__(self) -> str:
        label = f" {self.name!r}" if self.name else ""
        return f"<GradNode {self.id} {self.kind} {self.op}{label} {list(self.shape or ())}>"

    def __eq__(self, other) -> bool:
        return isinstance(other, GradNode) and other.graph is self.graph and other.id == self.id

    def __hash__(self) -> int:
        return hash((id(self.graph), self.id))

    kind = property(lambda self: self.graph.cols.kind[self.id])
    op = property(lambda self: self.graph.cols.op[self.id])
    name = property(lambda self: self.graph.cols.name[self.id])
    module = property(lambda self: self.graph.cols.module[self.id])
    source = property(lambda self: self.graph.cols.source[self.id])

    @property
    def label(self) -> str:
        """What a person calls this node: its variable name, else its op."""
        return self.name or self.op

    @property
    def order(self) -> int | None:
        """Place in the backward run (0 = first node the engine executed), None if not reached."""
        return self.graph.capture.order_of(self.id)

    # -- tensor metadata, per output --------------------------------------------------
    @property
    def outputs(self) -> int:
        return len(self.graph.meta(self.id))

    @property
    def shape(self) -> tuple[int, ...] | None:
        meta = self.graph.meta(self.id)
        return meta[0][0] if meta else None

    @property
    def dtype(self) -> str | None:
        meta = self.graph.meta(self.id)
        return meta[0][1] if meta else None

    @property
    def device(self) -> str | None:
        meta = self.graph.meta(self.id)
        return meta[0][2] if meta else None

    # -- values and gradients ---------------------------------------------------------
    @property
    def tensor(self) -> torch.Tensor | None:
        """The leaf tensor itself (parameters included); None for ops."""
        return self.graph.leaf_tensor(self.id)

    @property
    def value_snapshots(self) -> tuple[Snapshot | None, ...]:
        values = self.graph.cols.values
        if values[self.id] is None and self.kind == "leaf" and self.tensor is not None:
            values[self.id] = (Snapshot.of(self.tensor, RECORD_CAP),)  # taken when first asked
        return values[self.id] or (None,)

    @property
    def value_snapshot(self) -> Snapshot | None:
        return self.value_snapshots[0]

    @property
    def value(self) -> torch.Tensor | None:
        """Forward value: the leaf's data, or the output recorded by ``gradviz.record()``."""
        if self.kind == "leaf" and self.tensor is not None:
            return self.tensor.detach()
        snap = self.value_snapshot
        return snap.data if snap is not None else None

    @property
    def grads(self) -> tuple[torch.Tensor | None, ...]:
        """Gradient w.r.t. each output of this node (one entry per ``output_nr``); raises
        :class:`SummarisedGradError` if one of them was kept only as a summary."""
        return tuple(self.grad_at(i) for i in range(len(self.grad_snapshots)))

    @property
    def grad(self) -> torch.Tensor | None:
        """Gradient w.r.t. output 0 (the only output of most ops); None before backward or
        where no gradient flowed; :class:`SummarisedGradError` where only a summary is kept."""
        return self.grad_at(0)

    def grad_at(self, output_nr: int) -> torch.Tensor | None:
        """The whole gradient w.r.t. output ``output_nr`` (see :attr:`grad`)."""
        snaps = self.grad_snapshots
        snap = snaps[output_nr] if output_nr < len(snaps) else None
        if snap is None:
            return None
        if snap.data is None:
            what = self.name or (f"output {output_nr} of {self.op}" if len(snaps) > 1
                                 else f"the output of {self.op}")
            raise SummarisedGradError(
                f"the gradient of {what} (shape {list(snap.shape)}, norm {snap.stats['norm']:.6g}) "
                f"was kept only as a summary: {self.graph.capture.why_summarised()}. Its stats "
                "and histogram are in .grad_snapshot")
        return snap.data

    @property
    def grad_snapshots(self) -> tuple[Snapshot | None, ...]:
        return self.graph.capture.snapshots(self.id, self.graph.meta(self.id))

    @property
    def grad_snapshot(self) -> Snapshot | None:
        snaps = self.grad_snapshots
        return snaps[0] if snaps else None

    @property
    def grad_norm(self) -> float | None:
        snap = self.grad_snapshot
        return snap.stats.get("norm") if snap is not None else None

    @property
    def saved(self) -> list[tuple[str, tuple | None, str | None]]:
        """Tensors the op saved for backward: (name, shape, dtype)."""
        return self.graph.saved_of(self.id)

    @property
    def saved_bytes(self) -> int | None:
        """Bytes of the storages this op saved for backward (see :mod:`.memory`); None
        when they were not measured before backward released them."""
        return self.graph.memory.node_bytes(self.id)

    def explain(self) -> str:
        # lazy: explain runs the diagnoses, and those read graphs (a cycle at import time)
        from .explain import explain_node

        return explain_node(self)


class GradGraph:
    """The autograd graph reached from one or more outputs, plus what backward captured.

    The one read interface that the layout, the exporters, the app and ``explain`` use. Two
    kinds implement it: :class:`~gradviz.core.livegraph.LiveGraph` (a trace over live
    autograd Nodes, which reads torch lazily) and :class:`~gradviz.core.loaded.LoadedGraph`
    (a saved session: plain columns, no autograd). Subclasses set :attr:`cols`,
    :attr:`edges`, :attr:`index` and :attr:`leaf_index`.
    """

    cols: Columns
    #: (src, dst, output_nr of src): data flows src -> dst, as in the forward pass.
    edges: list[tuple[int, int, int]]
    index: dict  # autograd Node -> node id (empty once loaded)
    leaf_index: dict  # leaf tensor -> node id (empty once loaded)

    def __init__(self, capture: Captured, cap: int = DEFAULT_CAP):
        self.capture = capture
        self.cap = cap
        self.warnings: list[str] = []
        #: Free-form facts about where the graph came from (script, pass number, ...).
        self.info: dict = {}

    def __len__(self) -> int:
        return len(self.cols.kind)

    def __repr__(self) -> str:
        counts = {k: self.cols.kind.count(k) for k in KINDS}
        status = "captured" if self.has_grads else "backward not run yet"
        return f"<GradGraph {len(self)} nodes ({counts['leaf']} leaves, {counts['op']} ops, {counts['output']} outputs), {status}>"

    def _repr_svg_(self) -> str | None:
        """Jupyter's picture of the graph, drawn by :data:`svg_renderer` (None: not set)."""
        return svg_renderer(self) if svg_renderer is not None else None

    # -- nodes ------------------------------------------------------------------------
    @cached_property
    def nodes(self) -> list[GradNode]:
        return [GradNode(self, i) for i in range(len(self))]

    def node(self, node_id: int) -> GradNode:
        return self.nodes[node_id]

    def __iter__(self) -> Iterator[GradNode]:
        return iter(self.nodes)

    @property
    def outputs(self) -> list[GradNode]:
        return [n for n in self.nodes if n.kind == "output"]

    @property
    def has_grads(self) -> bool:
        return self.capture.ran

    @cached_property
    def recorded(self) -> bool:
        """Whether the forward pass ran under ``gradviz.record()`` (some op kept its value)."""
        return any(v is not None for v in self.cols.values)

    def meta(self, node_id: int) -> tuple:
        """(shape, dtype, device) per output."""
        return self.cols.meta[node_id]

    def sequence_nr(self, node_id: int) -> int | None:
        """When autograd created this node (it numbers Nodes in creation order); kept in sessions."""
        return self.cols.seq[node_id]

    def saved_of(self, node_id: int) -> list[tuple[str, tuple | None, str | None]]:
        """Tensors the op saved for backward: (name, shape, dtype)."""
        return self.cols.saved[node_id] or []

    def leaf_tensor(self, node_id: int) -> torch.Tensor | None:
        """The leaf tensor itself (parameters included); None for ops and loaded graphs."""
        return None

    # -- lookups ----------------------------------------------------------------------
    def find(self, key: str) -> GradNode:
        """The node named ``key`` (variable or parameter name), else the first with that op.

        Ops match exactly (``AddmmBackward0``) or without the ``Backward`` suffix (``addmm``).
        """
        for field_ in (self.cols.name, self.cols.op):
            for i, value in enumerate(field_):
                if value == key:
                    return self.nodes[i]
        bare = key.lower()
        for i, op in enumerate(self.cols.op):
            if short_op(op).lower() == bare:
                return self.nodes[i]
        for i, name in enumerate(self.cols.name):
            if name and key in name.split(", "):
                return self.nodes[i]
        raise KeyError(f"no node named {key!r} and no op {key!r} in this graph")

    def _locate(self, tensor: torch.Tensor) -> tuple[int, int]:
        if tensor.grad_fn is not None:
            nid = self.index.get(tensor.grad_fn)
            if nid is not None:
                return nid, tensor.output_nr
        else:
            nid = self.leaf_index.get(tensor)
            if nid is not None:
                return nid, 0
        raise KeyError(
            "this tensor is not in the graph: it is not on the path from the traced output "
            "(or was created after trace)"
        )

    def node_for(self, tensor: torch.Tensor) -> GradNode:
        """The node that produced ``tensor`` (its grad_fn), or its leaf node."""
        return self.nodes[self._locate(tensor)[0]]

    def contains(self, tensor: torch.Tensor) -> bool:
        try:
            self._locate(tensor)
        except KeyError:
            return False
        return True

    def grad_of(self, tensor: torch.Tensor) -> torch.Tensor | None:
        """Gradient w.r.t. exactly this tensor, also when its op has several outputs; None
        where no gradient flowed, :class:`SummarisedGradError` where only a summary is kept."""
        nid, output_nr = self._locate(tensor)
        return self.nodes[nid].grad_at(output_nr)

    # -- flows along edges (gradviz.core.flows) ----------------------------------------
    def flow(self, src, dst, which: int | None = None) -> torch.Tensor | None:
        """The gradient ``dst``'s backward sent to ``src`` along ``src -> dst`` (nodes,
        names or tensors); None: none was sent. ``which``: one of several such edges."""
        return flow(self, src, dst, which)

    def flows_into(self, node, output_nr: int | None = None) -> list:
        """``[(consumer, gradient), ...]``: the terms autograd summed into ``node``'s gradient."""
        return flows_into(self, node, output_nr)

    # -- networkx view ----------------------------------------------------------------
    @cached_property
    def nx(self) -> nx.DiGraph:
        """Edges point the way data flows forward (X -> Z -> S); attributes are plain data."""
        g = nx.DiGraph()
        c = self.cols
        g.add_nodes_from(
            (i, {"kind": c.kind[i], "op": c.op[i], "name": c.name[i], "module": c.module[i]})
            for i in range(len(self))
        )
        for src, dst, port in self.edges:
            if g.has_edge(src, dst):
                g[src][dst]["count"] += 1
            else:
                g.add_edge(src, dst, output_nr=port, count=1)
        return g

    # -- memory saved for backward (gradviz/core/memory.py) ---------------------------
    @cached_property
    def memory(self):
        """The storages the graph's ops saved for backward (measured when first asked, or by
        ``trace`` under ``record()``), as :class:`~gradviz.core.memory.Memory`."""
        return of_graph(self)

    @property
    def saved_bytes(self) -> int | None:
        """Bytes saved for backward by the whole graph, each storage once; None: not measured."""
        return self.memory.totals()["bytes"] if self.memory.measured else None

    def memory_by_module(self) -> dict[str, dict]:
        """Saved bytes per ``nn.Module`` path (nested), by kind, each storage once."""
        return self.memory.by_module(self.cols.module)

    def memory_timeline(self) -> list[dict]:
        """Bytes autograd still holds, by kind, after each step of the captured backward."""
        return timeline(self)

    def successors(self) -> list[list[int]]:
        """Consumers of each node (forward direction), without building networkx."""
        out: list[list[int]] = [[] for _ in range(len(self))]
        for src, dst, _ in self.edges:
            out[src].append(dst)
        return out


def short_op(op: str) -> str:
    """``AddmmBackward0`` -> ``Addmm``; other names are returned unchanged."""
    head, sep, tail = op.rpartition("Backward")
    return head if sep and (tail == "" or tail.isdigit()) and head else op
