"""Failure 2: backward through a graph an earlier pass already freed.

torch says "Trying to backward through the graph a second time". It is usually state carried
from one training step into the next without ``.detach()`` (an RNN's ``h``, a running
average): this pass's graph then reaches into the last one, whose saved tensors its backward
freed. The finding says which part of the graph an earlier pass built, through which tensor
and line this pass reaches it, and where to detach.
"""

from __future__ import annotations

import re

from ..diagnosis import CHECKS, Finding, Severity
from ..internals import FREED, saved_values
from ..traced import live_graphs
from .lines import code_at, raised_at

_ERROR = "Trying to backward through the graph a second time"
#: ``h = torch.tanh(...)``: the name a line assigns to (the tensor to detach).
_ASSIGNED = re.compile(r"^(?:self\.)?(?P<name>[A-Za-z_]\w*)\s*(?::[^=]*)?=[^=]")


def earlier_part(graph) -> set[int]:
    """Ids of the nodes of ``graph`` that an earlier pass built.

    Those in an earlier traced graph; those whose saved tensors are freed, unless this pass
    freed them (it ran them before it failed: all but the last node it reached); every op
    they were computed from; and every op autograd numbered before one of them (a pass's
    ops are all numbered after the ops of the passes before it)."""
    mine = next((key for key, g in list(live_graphs.items()) if g is graph), None)
    earlier = [g for key, g in sorted(live_graphs.items())
               if g is not graph and (mine is None or key < mine)]
    fns, kinds = graph.cols.fn, graph.cols.kind
    order = graph.capture.order
    ran_here = set(order[:-1])
    seen = {nid for nid, fn in enumerate(fns) if kinds[nid] != "leaf" and fn is not None and (
        any(fn in g.index for g in earlier)
        or nid not in ran_here and any(value is FREED for _, value in saved_values(fn)))}
    producers: list[list[int]] = [[] for _ in range(len(graph))]
    for src, dst, _ in graph.edges:
        producers[dst].append(src)
    todo = list(seen)
    while todo:
        for src in producers[todo.pop()]:
            if src not in seen and kinds[src] != "leaf":
                seen.add(src)
                todo.append(src)
    if seen:
        last = max(graph.sequence_nr(nid) for nid in seen)
        seen |= {nid for nid in range(len(graph))
                 if kinds[nid] != "leaf" and graph.sequence_nr(nid) <= last}
    return seen


def _name(graph, nid: int, script: str | None) -> str | None:
    """What the user calls the tensor: its variable, else the name its line assigns to."""
    node = graph.node(nid)
    if node.name:
        return node.name.split(", ")[0]
    code = code_at(node.source, script) or ""
    assigned = _ASSIGNED.match(code)
    return assigned["name"] if assigned else None


def _at(where: str | None) -> str:
    return f" at {where}" if where else ""


_RETAIN = ("or, if a second backward through the same graph is meant, "
           "`loss.backward(retain_graph=True)` in the first one")


def check(graph, exc) -> list[Finding]:
    if not isinstance(exc, RuntimeError) or _ERROR not in str(exc):
        return []
    called = raised_at(exc)
    lines = (called,) if called else ()
    old = earlier_part(graph) if graph is not None else set()
    if not old:
        return [Finding(
            "backward_twice", Severity.ERROR,
            f"backward{_at(called)} ran through a graph an earlier backward already freed",
            ("gradviz.trace(loss) before backward (or the script under `gradviz run`) would "
             "show which part of the graph an earlier pass built, and through which tensor "
             "this pass reaches it",), where=lines,
            suggestion=f"detach the state carried between steps (`h = h.detach()`), {_RETAIN}")]
    entries = sorted({(src, dst) for src, dst, _ in graph.edges if src in old and dst not in old},
                     key=lambda e: (graph.node(e[1]).source or "", e))
    if not entries:
        return [Finding(
            "backward_twice", Severity.ERROR,
            f"backward{_at(called)} ran a second time through a graph whose first backward "
            "freed it",
            (f"all {len(old)} ops of this pass were built before the earlier backward: nothing "
             "new was computed from them",), tuple(sorted(old)), lines,
            "compute the loss again before each backward, or `loss.backward(retain_graph=True)`"
            " in the first one if a second pass through it is meant")]
    return [_reached_through(graph, old, entries, lines)]


def _reached_through(graph, old: set[int], entries: list[tuple[int, int]],
                     lines: tuple[str, ...]) -> Finding:
    """The finding for a pass that reaches an earlier one along ``entries`` (old -> new)."""
    script = graph.info.get("script")
    details, where, names = [], [], []
    for src, dst in entries:
        made, used = graph.node(src), graph.node(dst)
        name = _name(graph, src, script)
        names.append(name)
        tensor = f"`{name}`" if name else f"the output of {made.op}"
        details.append(f"{tensor} ({made.op}{_at(made.source)}, built by an earlier pass) is "
                       f"used by {used.op}{_at(used.source)} in this one")
        where += [w for w in (made.source, used.source) if w]
    details.append(f"{len(old)} of this graph's {len(graph)} nodes belong to the earlier pass; "
                   "its backward freed what they saved")
    if not where:
        details.append("gradviz.record() (or `gradviz run`) would name the lines")
    name = next((n for n in names if n), "h")
    first_use = graph.node(entries[0][1]).source
    fix = f"`{name} = {name}.detach()` " + (f"before {first_use}" if first_use
                                            else "where each step begins")
    carried = ", ".join(f"`{n}`" for n in dict.fromkeys(names) if n) or "a tensor"
    made_at = graph.node(entries[0][0]).source
    return Finding(
        "backward_twice", Severity.ERROR,
        f"backward{_at(lines[0] if lines else None)} reached into the graph of an earlier pass "
        f"through {carried}{' made' + _at(made_at) if made_at else ''}",
        tuple(details), tuple(sorted(old)), tuple(dict.fromkeys(where + list(lines))),
        f"{fix} (carry the value, not its history), {_RETAIN}")


CHECKS.append(check)
