"""``gradviz.Run``: the backward passes of a training loop, traced every K-th step.

    run = gradviz.Run(every=10)
    for step in range(1000):
        loss = model(x).sum()
        run.trace(loss)        # before backward: steps 1, 11, 21, ... are traced
        loss.backward()
    run.passes                 # the newest ``keep`` graphs, whole
    run.history("fc.weight")   # gradient norm, loss, global norm of every traced pass

A step that is not traced costs a counter: no walk, no hooks. A traced pass is summarised
into the :class:`~gradviz.core.history.History` as soon as its backward ends (before an
optimizer step changes the parameters), and its graph is dropped once ``keep`` newer ones came.

A Run may be read from another thread while the loop runs (the app's live view): its passes
and history change under one lock.
"""

from __future__ import annotations

import math
import threading
import weakref
from collections import deque

import torch

from . import internals
from .budget import DEFAULT_BUDGET
from .errors import GradvizError
from .graph import GradGraph, GradNode
from .history import History, NodeHistory, PassHistory, node_keys
from .spill import ChunkFile
from .trace import trace
from .userframe import caller_locals, user_frame

#: Whole graphs kept by default: a training loop's newest ones.
KEEP = 20


class RunError(GradvizError, ValueError):
    """A bad ``every``/``first``/``keep``, or a history asked of a node no pass had."""


def _count(name: str, value, least: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise RunError(f"{name} takes a whole number of at least {least}, not {value!r}")
    return value


def _loss(tensors: list[torch.Tensor]) -> float:
    """The traced output's value, when it is one number (a loss); NaN otherwise."""
    t = tensors[0]
    return float(t.detach()) if t.numel() == 1 and not t.is_complex() else math.nan


def _keep_leaf_values(graph: GradGraph) -> None:
    """Snapshot the leaves' values now, before an optimizer step changes the parameters in
    place: a kept pass (compared, saved) shows them as this pass saw them."""
    for nid, kind in enumerate(graph.cols.kind):
        if kind == "leaf":
            graph.nodes[nid].value_snapshots


class Run:
    """The traced passes of one training run, and the history of all of them."""

    def __init__(self, *, every: int = 1, first: int | None = None, keep: int = KEEP,
                 budget=DEFAULT_BUDGET, cap: int | None = None, flows: bool | None = None,
                 spill=None, history_memory: int | None = None):
        """``spill``: a run file to write older history into once the history in memory
        would pass ``history_memory`` bytes (``save_run`` to the same path keeps it)."""
        self.every = _count("every", every, 1)
        self.first = None if first is None else _count("first", first, 0)
        self.keep = _count("keep", keep, 1)
        self.options = {"budget": budget, "cap": cap, "flows": flows}
        self.steps = 0  # trace() calls: traced or not
        self.traced = 0
        self._passes: deque[GradGraph] = deque(maxlen=keep)
        self._keys: "weakref.WeakKeyDictionary[GradGraph, list[str]]" = \
            weakref.WeakKeyDictionary()
        self._pending: list[tuple[GradGraph, float]] = []
        self._history = History(None if spill is None else ChunkFile(spill), history_memory)
        self._lock = threading.RLock()  # the loop's thread adds, a viewer's thread reads

    def wants(self, step: int) -> bool:
        """Whether step ``step`` (1 = the first trace() call) would be traced."""
        return (step - 1) % self.every == 0 and (self.first is None or self.traced < self.first)

    @property
    def tracing_next(self) -> bool:
        """Whether the next trace() call traces: the forward before it is worth recording."""
        return self.wants(self.steps + 1)

    def skip(self) -> None:
        """Count a step without tracing it (the runner's way past ``trace``'s namespace)."""
        self.steps += 1

    def trace(self, outputs, *, namespace: dict | None = None, **options) -> GradGraph | None:
        """Count a step, and trace it (as ``gradviz.trace``) if it is one of the ``every``-th,
        within ``first``; returns its graph, or None for a step left alone."""
        self.steps += 1
        if not self.wants(self.steps):
            return None
        self._settle()
        if namespace is None:
            frame = user_frame(2)
            with caller_locals(frame) as local:
                namespace = {**(frame.f_globals if frame else {}), **local}
            del frame
        graph = trace(outputs, namespace=namespace, **{**self.options, **options})
        tensors = [outputs] if isinstance(outputs, torch.Tensor) else list(outputs)
        graph.info["index"] = self.steps
        with self._lock:
            self.traced += 1
            self._passes.append(graph)
            self._pending.append((graph, _loss(tensors)))
        self._settle_after(tensors[0].grad_fn)
        return graph

    def _settle_after(self, root) -> None:
        """Summarise the pass as soon as its backward ends: the root runs first in it, and
        queues the summary behind the capture's own end of pass."""
        me = weakref.ref(self)

        def queue(grad_outputs):
            handle.remove()
            internals.queue_end_of_pass(lambda: (run := me()) is not None and run._settle())

        handle = root.register_prehook(queue)

    def _settle(self) -> None:
        """Add the passes whose backward ran to the history."""
        with self._lock:
            waiting = []
            for graph, loss in self._pending:
                if graph.capture.ran:
                    self._history.add(graph, self.keys_of(graph), graph.info["index"], loss)
                    _keep_leaf_values(graph)
                elif graph.capture.armed:
                    waiting.append((graph, loss))
            self._pending = waiting

    def keys_of(self, graph: GradGraph) -> list[str]:
        """The history key of each node of ``graph``, by node id."""
        with self._lock:
            keys = self._keys.get(graph)
            if keys is None:
                keys = self._keys[graph] = node_keys(graph)
            return keys

    @property
    def passes(self) -> list[GradGraph]:
        """The newest traced passes' graphs (at most ``keep``), oldest first."""
        with self._lock:
            self._settle()
            return list(self._passes)

    def timeline(self) -> PassHistory:
        """Every traced pass's loss, global gradient norm and whether a gradient held NaN/Inf."""
        with self._lock:
            self._settle()
            return self._history.figures()

    def history(self, node) -> NodeHistory:
        """Per-pass figures of ``node``: a GradNode of any pass, a tensor or a name or op in
        the newest pass (see ``GradGraph.find``), or a history key."""
        with self._lock:
            return self._history_of(node)

    def _history_of(self, node) -> NodeHistory:
        self._settle()
        if isinstance(node, GradNode):
            key = self.keys_of(node.graph)[node.id]
        elif isinstance(node, str) and node in self._history.keys:
            key = node
        elif self._passes:
            newest = self._passes[-1]
            try:
                found = newest.node_for(node) if isinstance(node, torch.Tensor) \
                    else newest.find(node)
            except KeyError as err:
                raise RunError(err.args[0]) from None
            key = self.keys_of(newest)[found.id]
        else:
            raise RunError("no pass was traced yet")
        try:
            return self._history.of(key)
        except KeyError as err:
            raise RunError(err.args[0]) from None

    @property
    def summaries(self) -> History:
        """Every traced pass's per-node figures, as a run file saves them."""
        self._settle()
        return self._history

    @property
    def history_bytes(self) -> int:
        """Memory of the per-node history (allocated)."""
        return self._history.nbytes

    def __repr__(self) -> str:
        return (f"<Run {self.steps} steps, {self.traced} traced (every {self.every}), "
                f"{len(self._passes)} kept>")
