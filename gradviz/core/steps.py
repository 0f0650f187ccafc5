"""The lecture player as plain data: which node each step shows and what is done by then.

Forward mode walks the ops in the order they were created, backward mode the nodes in the
order the backward pass reached them (``graph.capture.order``). A step's picture is a plain
dict (see :meth:`Steps.state`), so the window, the PDF exporter and the tests all read the
same thing and none of them needs Qt.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from itertools import chain

import networkx as nx

from .collapse import View
from .graph import GradGraph

MODES = ("forward", "backward")
#: Graphs of up to this many nodes are small enough to read every value and gradient on a
#: slide: lectures (the presenter, ``--steps`` PDFs) show them the ``values`` labels.
READABLE_NODES = 40


def lecture_labels(graph: GradGraph, labels: str | None = None) -> str:
    """``labels`` when chosen; else ``values`` on a graph small enough to read, ``compact``
    (names and ops) above, where the numbers would make every box too big for a screen."""
    return labels or ("values" if len(graph) <= READABLE_NODES else "compact")


def _creation_key(graph: GradGraph):
    """A sort key that follows creation order as closely as the graph can tell.

    Autograd numbers every Node when it is created (read in ``internals.py``; sessions keep it).
    Failing that (a session written without it), the backward engine runs ready nodes
    newest first, so the captured order reversed stands in for it; then reverse walk order
    (ids grow from the output towards the inputs). Leaves sort first: they exist before
    any op, and a late key would hold back the ops that read them.
    """
    kinds = graph.cols.kind
    seqs = [graph.sequence_nr(nid) for nid in range(len(graph))]
    if all(seq is not None for seq in seqs):
        return lambda nid: (kinds[nid] != "leaf", seqs[nid], nid)
    reached = {nid: i for i, nid in enumerate(graph.capture.order)}
    return lambda nid: (kinds[nid] != "leaf", -reached.get(nid, -1), -nid)


def forward_order(graph: GradGraph) -> list[int]:
    """Op and output node ids in the order the forward pass created them.

    Sorted topologically along the data-flow edges with creation order breaking ties, so a
    node never comes before one of its inputs, whatever the key says. Leaves are not steps:
    they are the inputs that exist before the forward pass starts.
    """
    order = nx.lexicographical_topological_sort(graph.nx, key=_creation_key(graph))
    return [nid for nid in order if graph.cols.kind[nid] != "leaf"]


def backward_order(graph: GradGraph) -> list[int]:
    """Node ids in the order the backward pass reached them (empty before backward)."""
    return list(graph.capture.order)


@dataclass(frozen=True)
class Steps:
    """The steps of one mode; a position is an index into :attr:`order`."""

    graph: GradGraph
    mode: str
    order: tuple[int, ...]

    @classmethod
    def of(cls, graph: GradGraph, mode: str) -> "Steps":
        if mode not in MODES:
            raise ValueError(f"unknown step mode {mode!r}; use one of {', '.join(MODES)}")
        order = forward_order(graph) if mode == "forward" else backward_order(graph)
        if not order:
            raise ValueError("no backward steps: run backward after gradviz.trace() first"
                             if mode == "backward" else "no ops to step through")
        return cls(graph, mode, tuple(order))

    def __len__(self) -> int:
        return len(self.order)

    # -- moving -----------------------------------------------------------------------
    def first(self) -> int:
        return 0

    def last(self) -> int:
        return len(self.order) - 1

    def next(self, step: int) -> int:
        """The following step; the last step stays where it is."""
        return min(step + 1, self.last())

    def previous(self, step: int) -> int:
        """The preceding step; the first step stays where it is."""
        return max(step - 1, 0)

    def step_of(self, node_id: int) -> int | None:
        """The step that shows ``node_id``, None if this mode never reaches it."""
        try:
            return self.order.index(node_id)
        except ValueError:
            return None

    # -- what a step shows ------------------------------------------------------------
    @cached_property
    def _complete_at(self) -> dict[int, int]:
        """Node id -> the backward step from which its gradient is whole: the step of its
        last consumer, whose flow completes the sum (the node's own step where a consumer
        never ran, or it has none). Worked out once: the player asks for every step."""
        capture = self.graph.capture
        last: dict[int, int] = {}
        unsent: set[int] = set()  # nodes with a consumer that never ran
        for src, dst, _ in self.graph.edges:
            at = capture.order_of(dst)
            if at is None:
                unsent.add(src)
            else:
                last[src] = max(last.get(src, -1), at)
        complete = {nid: step for step, nid in enumerate(self.order)}
        complete.update((nid, at) for nid, at in last.items() if nid not in unsent)
        return complete

    @cached_property
    def _sent(self) -> dict[int, tuple[int, ...]]:
        """Node id -> the edges into it: the flows its backward sends to its inputs."""
        sent: dict[int, list[int]] = {}
        for e, (_, dst, _) in enumerate(self.graph.edges):
            sent.setdefault(dst, []).append(e)
        return {nid: tuple(edges) for nid, edges in sent.items()}

    def caption(self, step: int) -> str:
        """``backward 2/7: Z (AddmmBackward0)``: a page heading, the player's status text."""
        node = self.graph.nodes[self.order[step]]
        what = f"{node.name} ({node.op})" if node.name else node.op
        return f"{self.mode} {step + 1}/{len(self.order)}: {what}"

    def state(self, step: int) -> dict:
        """The picture at ``step``, as plain data for ``gradviz.layout.layout(state=...)``.

        ``current``: the node of this step (the layout also lights the edges into it: its
        inputs in forward mode, in backward the flows it has just sent). ``sent``: those
        edges' numbers in ``graph.edges`` during backward (none in forward); ``flowed``: the
        edges whose flows were sent by this step or an earlier one, whose flow labels the
        values mode shows (none in forward: no gradient exists yet). ``done``: nodes
        finished before it; in forward mode the leaves too, as inputs exist from the start.
        ``show_grad``: nodes whose gradient may be shown: none during forward (no gradient
        exists yet); during backward those whose consumers have all sent their flows by
        this step (the sum is whole), before the node's own step comes.
        """
        if not 0 <= step < len(self.order):
            raise IndexError(f"step {step} is out of range 0..{self.last()}")
        current = self.order[step]
        done = set(self.order[:step])
        if self.mode == "forward":
            done |= {nid for nid, kind in enumerate(self.graph.cols.kind) if kind == "leaf"}
            show_grad, sent, flowed = set(), (), frozenset()
        else:
            show_grad = {nid for nid, at in self._complete_at.items() if at <= step}
            sent = self._sent.get(current, ())
            flowed = frozenset(chain.from_iterable(self._sent.get(nid, ())
                                                   for nid in self.order[:step + 1]))
        return {"mode": self.mode, "step": step, "steps": len(self.order), "current": current,
                "done": done, "show_grad": show_grad, "sent": sent, "flowed": flowed}


def on_view(state: dict, view: View) -> dict:
    """``state`` in the keys of a picture where some modules are folded into one node.

    A folded module is current while it holds the current node, done once all its members
    are, and shows gradients once any member does; unfolded nodes keep their own state.
    """
    key_of, done = view.key_of, state["done"]
    return {**state,
            "current": key_of[state["current"]],
            "done": {key_of[n] for n in done if key_of[n] == n}
            | {key for key, members in view.members.items() if done.issuperset(members)},
            "show_grad": {key_of[n] for n in state["show_grad"]}}
