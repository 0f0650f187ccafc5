"""Walk ``grad_fn`` from the outputs: one node per autograd Node, each visited once."""

from __future__ import annotations

from .graph import Columns

_OP_NAMES: dict[type, str] = {}


def _op_name(fn) -> str:
    kind = type(fn)
    name = _OP_NAMES.get(kind)
    if name is None:
        name = fn.name() if hasattr(fn, "name") else kind.__name__
        name = _OP_NAMES[kind] = name.rpartition("::")[2]  # torch::autograd::CopySlices -> CopySlices
    return name


def walk(roots) -> tuple[Columns, list[tuple[int, int, int]], dict, dict]:
    """Iterative depth-first walk (no recursion limit at 100,000 nodes).

    Returns the columns, the edges ``(src, dst, output_nr)`` pointing the way data flows,
    the index autograd Node -> id and the index leaf tensor -> id. Ids follow discovery
    order, so the same graph always gets the same ids.
    """
    cols = Columns()
    edges: list[tuple[int, int, int]] = []
    index: dict = {}
    leaf_index: dict = {}
    add = cols.add
    stack = []
    for fn in roots:
        if fn not in index:
            index[fn] = add("output", _op_name(fn), fn)
            stack.append(fn)
    while stack:
        fn = stack.pop()
        dst = index[fn]
        for nxt, output_nr in fn.next_functions:
            if nxt is None:
                continue
            src = index.get(nxt)
            if src is None:
                op = _op_name(nxt)
                if op == "AccumulateGrad":  # a leaf tensor that wants .grad
                    src = index[nxt] = add("leaf", op, nxt)
                    leaf_index[nxt.variable] = src
                else:
                    src = index[nxt] = add("op", op, nxt)
                stack.append(nxt)
            edges.append((src, dst, output_nr))
    cols.fill()
    return cols, edges, index, leaf_index
