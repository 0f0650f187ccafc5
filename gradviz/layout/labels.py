"""The text on a node, per label mode.

``compact``: the variable or parameter name and the op (leaves: name and shape).
``full``: plus shape, dtype and a non-CPU device.
``values``: plus the forward value and the gradient when the tensor is tiny (``data 2.15 |
grad 1`` for scalars, the rows of a small matrix), their norms otherwise.

A hidden gradient (the player has not reached the node yet) keeps its line as ``grad ?``,
so the text has the same size either way and positions can be reused.
"""

from __future__ import annotations

from gradviz.core.graph import GradGraph, short_op

MODES = ("compact", "full", "values")
#: Tensors with at most this many elements (and at most 2 dims) are written out in full.
TINY = 12
#: ... on one line up to this many elements, one line per row above.
ONE_LINE = 6
HIDDEN = "?"


def check_mode(mode: str) -> str:
    if mode not in MODES:
        raise ValueError(f"unknown label mode {mode!r}; use one of: {', '.join(MODES)}")
    return mode


def _num(x) -> str:
    return f"{x:.3g}" if isinstance(x, float) else str(x)


def shape_text(shape) -> str:
    """``(2, 3)`` as PyTorch prints ``tensor.shape``; ``scalar`` for 0-d tensors."""
    return str(tuple(shape)) if shape else "scalar"


def _rows(snap) -> list[str]:
    """A tiny tensor as text rows: ``[1, 2]`` per row of a matrix, one row for a vector."""
    data = snap.tolist()
    if not isinstance(data, list):
        return [_num(data)]
    if data and isinstance(data[0], list):
        return ["[" + ", ".join(map(_num, row)) + "]" for row in data]
    return ["[" + ", ".join(map(_num, data)) + "]"]


def _tiny(snap) -> bool:
    return snap is not None and snap.data is not None and snap.numel <= TINY and len(snap.shape) <= 2


def value_lines(value, grad, show_grad: bool) -> list[str]:
    """Value and gradient lines for ``values`` mode; either snapshot may be None."""
    if value is not None and value.numel == 1 and _tiny(value) and (grad is None or _tiny(grad)):
        line = f"data {_rows(value)[0]}"
        if grad is not None:
            line += f" | grad {_rows(grad)[0] if show_grad else HIDDEN}"
        return [line]
    lines = []
    for word, snap, shown in (("value", value, True), ("grad", grad, show_grad)):
        if snap is None or not snap.has_values:  # a meta tensor has only its shape
            continue
        if not shown:
            lines.append(f"{word} {HIDDEN}")
        elif _tiny(snap):
            rows = _rows(snap)
            if len(rows) == 1 or snap.numel <= ONE_LINE:
                lines.append(f"{word} [{', '.join(rows)}]" if len(rows) > 1 else f"{word} {rows[0]}")
            else:
                lines += [word] + rows
        else:
            lines.append(f"|{word}| {_num(snap.stats['norm'])}")
    return lines


def node_lines(graph: GradGraph, nid: int, mode: str, show_grad: bool = True) -> list[str]:
    c = graph.cols
    kind, name = c.kind[nid], c.name[nid]
    if kind == "leaf":
        lines = [name or "tensor"]
        if mode == "compact":
            lines.append(shape_text(graph.meta(nid)[0][0]) if graph.meta(nid) else "")
    else:
        lines = ([name] if name else []) + [short_op(c.op[nid])]
    if mode == "compact":
        return [line for line in lines if line]
    meta = graph.meta(nid)
    if meta:
        shape, dtype, device = meta[0]
        lines.append(f"{shape_text(shape)} {dtype}" + ("" if device == "cpu" else f" {device}"))
    if mode == "values":
        node = graph.nodes[nid]
        lines += value_lines(node.value_snapshot, node.grad_snapshot, show_grad)
    return lines


def module_lines(path: str, count: int, glue: int = 0) -> list[str]:
    """A folded module: its path and how many ops its box holds, saying how many of them
    are its ancestors' ops taken in between its own (glue, see ``gradviz.core.contiguous``)."""
    return [path, _ops(count)] + _glue(glue)


def run_lines(title: str, each: int, glue: int = 0) -> list[str]:
    """A folded run of repeated blocks (``gradviz.core.runs``): ``h.0 … h.11  ×12``, how many
    ops each block has, and the parent's ops taken in between them."""
    return [title, _ops(each) + " each"] + _glue(glue)


def _ops(count: int) -> str:
    return f"{count} op{'s' if count != 1 else ''}"


def _glue(count: int) -> list[str]:
    return [f"incl. {count} parent op{'s' if count != 1 else ''}"] if count else []
