"""Failure 4, NaN or Inf: where a non-finite value first appears, forward and backward.

Forward: of the recorded values that are not finite and reach a non-finite output (or the
first non-finite gradient) through values that are not finite either, the first in forward
order (autograd numbers Nodes as it creates them, producers first) is where the NaN or Inf
was made: its inputs were finite, or an earlier op would have been first. A -inf that a mask
puts in on purpose and softmax turns into 0 is no finding. Backward: the first node in
backward order whose gradient is not finite is where backward made one (the derivative of
``sqrt`` at 0 is inf even when the forward value is 0), sent by the backward of a consumer.
A NaN spreads to everything after it, so these are the nodes to look at; ``Ctrl+N`` visits
them first, then every other non-finite node.
"""

from __future__ import annotations

import re

from ..diagnosis import CHECKS, Finding, Severity
from ..flows import FlowsNotCapturedError, flow_snapshot
from ..graph import GradGraph, GradNode, short_op
from ..select import first_nonfinite, finite

#: The usual fix for the ops that make NaN or Inf from finite inputs, by short op name.
FIXES = {
    "Log": "keep the argument away from 0: torch.log(p.clamp_min(1e-12)); for log(softmax(x)) "
           "use F.log_softmax(x) or F.cross_entropy, which stay finite",
    "Div": "keep the denominator away from 0: a / (b + 1e-12), or b.clamp_min(1e-12)",
    "Sqrt": "torch.sqrt(x + 1e-12): sqrt's derivative at 0 is infinite",
    "Pow": "keep the base away from 0 for fractional or negative powers: (x + 1e-12) ** p",
    "Exp": "exp overflows above about 88 in float32: subtract the max first, or torch.logsumexp",
    "Rsqrt": "torch.rsqrt(x + 1e-12): rsqrt of 0 is infinite",
    "Reciprocal": "keep the argument away from 0: 1 / (x + 1e-12)",
}


def _bad_value(graph: GradGraph, nid: int) -> bool:
    values = graph.cols.values[nid]
    return graph.cols.kind[nid] != "leaf" and bool(values) and not all(map(finite, values))


def first_nonfinite_value(graph: GradGraph, backward: int | None = None) -> int | None:
    """The op, in forward order, that first made a NaN or an Inf that did harm (see the module
    docstring); ``backward``: the first node whose gradient is not finite."""
    seeds = [n for n in range(len(graph)) if graph.cols.kind[n] == "output"]
    if backward is not None:
        seeds += [backward, sender(graph, backward)]
    preds: dict[int, list[int]] = {}
    for src, dst, _ in graph.edges:
        preds.setdefault(dst, []).append(src)
    todo = [n for n in seeds if n is not None and _bad_value(graph, n)]
    harmful = set(todo)
    while todo:
        for src in preds.get(todo.pop(), ()):
            if src not in harmful and _bad_value(graph, src):
                harmful.add(src)
                todo.append(src)
    return min(harmful, key=lambda n: graph.sequence_nr(n) or 0, default=None)


def nonfinite_nodes(graph: GradGraph) -> list[int]:
    """Every node with a non-finite value or gradient: the forward origin, the backward one,
    then the others in backward order, then those only known from their values."""
    backward = first_nonfinite(graph)
    found = [first_nonfinite_value(graph, backward), backward]
    found += [nid for nid in graph.capture.order
              if not all(map(finite, graph.node(nid).grad_snapshots))]
    found += [i for i in range(len(graph)) if _bad_value(graph, i)]
    return list(dict.fromkeys(nid for nid in found if nid is not None))


def _what(node: GradNode) -> str:
    """``log (LogBackward0) at loss.py:7 in module head``."""
    name = f"{node.name} = " if node.name and node.kind != "leaf" else ""
    where = f" at {node.source}" if node.source else ""
    module = f" in module {node.module}" if node.module else ""
    return f"{name}{short_op(node.op).lower()} ({node.op}){where}{module}"


def _counts(snaps) -> str:
    nan = sum(s.stats.get("nan", 0) for s in snaps if s is not None)
    inf = sum(s.stats.get("inf", 0) for s in snaps if s is not None)
    return " and ".join(f"{n} {word}" for n, word in ((nan, "NaN"), (inf, "Inf")) if n)


def _inputs(graph: GradGraph, nid: int) -> tuple[list[str], bool]:
    """Each input of ``nid`` with a known value, its range or its NaN/Inf count; and whether
    they were all finite."""
    out, ok = [], True
    for src, dst, port in graph.edges:
        if dst != nid:
            continue
        node = graph.node(src)
        label = node.label if node.kind == "leaf" else node.name or short_op(node.op).lower()
        if node.kind == "leaf":
            snap = node.value_snapshot  # read now: the script may have changed it since
            when = ", read after the script ran"
        else:
            values = graph.cols.values[src] or ()
            snap, when = (values[port] if port < len(values) else None), ""
        if snap is None or not snap.has_values:
            continue
        stats = snap.stats
        if finite(snap):
            out.append(f"{label} in [{stats['min']:.4g}, {stats['max']:.4g}]{when}")
        else:
            out.append(f"{label} already held {_counts([snap])}{when}")
            ok = False
    return out, ok


def sender(graph: GradGraph, nid: int) -> int | None:
    """The consumer whose backward sent ``nid`` its non-finite gradient: the one whose flow
    is not finite where flows were kept, else its only (or first) consumer; None for an output."""
    consumers = [(e, dst) for e, (src, dst, _) in enumerate(graph.edges) if src == nid]
    try:
        for e, dst in consumers:
            if not finite(flow_snapshot(graph, e)):
                return dst
    except FlowsNotCapturedError:  # a backward that raised keeps no flows
        pass
    return consumers[0][1] if consumers else None


def _backward_lines(graph: GradGraph, nid: int) -> list[str]:
    node, by = graph.node(nid), sender(graph, nid)
    made = f", sent by the backward of {_what(graph.node(by))}" if by is not None else ""
    return [f"backward: the first non-finite gradient ({_counts(node.grad_snapshots)}) is the "
            f"one w.r.t. {_what(node)}{made}, step {node.order + 1} of "
            f"{len(graph.capture.order)}"]


#: What ``torch.autograd.set_detect_anomaly(True)`` raises when a backward function makes NaN.
ANOMALY = re.compile(r"Function '(\w+)' returned nan values")


def stopped_at(graph: GradGraph, exc: BaseException | None) -> int | None:
    """The node anomaly detection stopped backward at, named by its op in ``exc``: the
    newest node with that op that backward reached."""
    found = ANOMALY.search(str(exc)) if exc is not None else None
    if found is None:
        return None
    reached = [n for n in graph.capture.order if graph.cols.op[n] == found.group(1)]
    return reached[-1] if reached else None


def check(graph: GradGraph | None, exc: BaseException | None) -> list[Finding]:
    if graph is None:
        return []
    backward = first_nonfinite(graph)
    forward = first_nonfinite_value(graph, backward) if graph.recorded else None
    stopped = stopped_at(graph, exc)
    if forward is None and backward is None and stopped is None:
        return []
    details = []
    if forward is not None:
        maker = graph.node(forward)
        ins, clean = _inputs(graph, forward)
        source = "from finite inputs" if clean else "from an input that already held one"
        title = (f"NaN/Inf: {short_op(maker.op).lower()} made a non-finite value {source}"
                 + (f" at {maker.source}" if maker.source else ""))
        details.append(f"forward: {_what(maker)} made {_counts(graph.cols.values[forward])} "
                       + (f"({'; '.join(ins)})" if ins else ""))
    elif graph.recorded:
        details.append("forward: no recorded value on the way to the output is NaN or Inf, so "
                       "backward made it: a derivative infinite at these inputs (sqrt, pow, div "
                       "at 0)")
    else:
        details.append("forward: values were not recorded, so the op that first made a "
                       "non-finite value is unknown: run the forward inside gradviz.record() "
                       "(gradviz run does) to name it and its line")
    if backward is not None:
        details += _backward_lines(graph, backward)
    if stopped is not None:
        details.append(f"backward: anomaly detection stopped backward at "
                       f"{_what(graph.node(stopped))}, whose backward returned NaN")
    if forward is None:
        by = stopped if stopped is not None else sender(graph, backward)
        maker = graph.node(backward if by is None else by)
        what = ("returned NaN" if stopped is not None
                else f"sent a non-finite gradient to {graph.node(backward).label}")
        title = (f"NaN/Inf in backward: {short_op(maker.op).lower()}'s backward"
                 + (f" at {maker.source}" if maker.source else "") + f" {what}")
    nodes = tuple(dict.fromkeys(n for n in (forward, backward, stopped) if n is not None))
    where = tuple(dict.fromkeys(s for s in (graph.cols.source[n] for n in nodes) if s))
    severity = Severity.ERROR if stopped is not None else Severity.WARNING
    return [Finding("nonfinite", severity, title, tuple(details), nodes, where,
                    FIXES.get(short_op(maker.op)))]


CHECKS.append(check)
