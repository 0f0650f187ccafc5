"""Walk ``grad_fn`` from the outputs: one node per autograd Node, each visited once.

The walk runs inside the user's program, before their backward, so it does only what
arming the hooks needs: it collects the Nodes. Columns and edges are read from those
Nodes later, when somebody looks at the graph (:func:`columns`, :func:`edges_of`).
"""

from __future__ import annotations

import torch

from .graph import Columns

_OP_NAMES: dict[type, str] = {}
LEAF_OP = "AccumulateGrad"
#: The Node type autograd puts behind every leaf tensor that requires grad.
ACCUMULATE_GRAD = type(torch.empty(0, requires_grad=True).view(0).grad_fn.next_functions[0][0])


def op_name(fn) -> str:
    """``AddmmBackward0``, ``CopySlices``, ``MyFuncBackward``, ``AccumulateGrad``."""
    kind = type(fn)
    name = _OP_NAMES.get(kind)
    if name is None:
        name = fn.name() if hasattr(fn, "name") else kind.__name__
        name = _OP_NAMES[kind] = name.rpartition("::")[2]  # torch::autograd::CopySlices -> CopySlices
    return name


def walk(roots) -> tuple[list, dict, int]:
    """Iterative depth-first walk (no recursion limit at 100,000 nodes).

    Returns the Nodes in discovery order (their index is the node id, so the same graph
    always gets the same ids; a node's discoverer always has a smaller id), the index
    Node -> id, and how many of the first ids are the outputs.
    """
    fns: list = []
    index: dict = {}
    for fn in roots:
        if fn not in index:
            index[fn] = len(fns)
            fns.append(fn)
    outputs = len(fns)
    stack = list(fns)
    add, push = fns.append, stack.append
    while stack:
        for nxt, _ in stack.pop().next_functions:
            if nxt is not None and nxt not in index:
                index[nxt] = len(fns)
                add(nxt)
                push(nxt)
    return fns, index, outputs


def columns(fns: list, outputs: int, names: dict[int, str]) -> Columns:
    """The per-node columns of a live graph; ``names`` as found by ``trace``."""
    cols = Columns()
    cols.op = [op_name(fn) for fn in fns]
    cols.kind = ["output" if i < outputs else ("leaf" if op == LEAF_OP else "op")
                 for i, op in enumerate(cols.op)]
    cols.fn = fns
    cols.fill()
    for nid, name in names.items():
        cols.name[nid] = name
        if cols.kind[nid] == "leaf" and "." in name:  # a parameter belongs to its module
            cols.module[nid] = name.rpartition(".")[0]
    return cols


def edges_of(fns: list, index: dict) -> list[tuple[int, int, int]]:
    """``(src, dst, output_nr)``, pointing the way data flows, grouped by consumer id."""
    return [(index[nxt], dst, output_nr)
            for dst, fn in enumerate(fns)
            for nxt, output_nr in fn.next_functions if nxt is not None]


def leaves_of(fns: list) -> dict:
    """Leaf tensor -> id, for ``node_for(leaf)``."""
    return {fn.variable: i for i, fn in enumerate(fns) if type(fn) is ACCUMULATE_GRAD}
