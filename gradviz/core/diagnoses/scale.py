"""Failure 5, exploding and vanishing gradients: a one-line verdict on the gradient's scale.

A layer is a recorded ``nn.Module`` that ran ops itself and holds no recorded submodule (a
``Linear``, an ``nn.Sigmoid``), taken in forward order. Its gradient norm is the norm of the
gradient w.r.t. its output, what a ``register_full_backward_hook`` sees as ``grad_output``.
The ratio of the first layer's norm to the last's says whether backward shrinks or grows the
gradient across the model (across each stack of layers, when several feed the loss side by
side); the layer whose backward changes it the most (its output's norm against the previous
layer's) is where it collapses or blows up.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..diagnosis import CHECKS, Finding, Severity
from ..graph import GradGraph
from ..select import finite, upstream, whole_norm

#: Past this factor between the first and the last layer, gradients vanish or explode.
FACTOR = 100.0
#: Layers listed one a line in the finding's details, at most.
LISTED = 12


@dataclass(frozen=True)
class Layer:
    path: str
    norm: float  # of the gradient w.r.t. its output(s)
    outputs: tuple[int, ...]  # the nodes whose values leave it
    first: int  # creation number of its first op: forward order


def layers(graph: GradGraph) -> list[Layer]:
    """The recorded innermost modules in forward order, each with its output gradient's norm;
    empty when nothing was recorded or backward has not run. A layer whose gradient holds a
    NaN or an Inf is left out: its norm says nothing (the NaN check speaks for it)."""
    if not graph.has_grads:
        return []
    modules, kinds = graph.cols.module, graph.cols.kind
    paths = {m for m, k in zip(modules, kinds) if m and k != "leaf"}
    inner = {p for p in paths if not any(q.startswith(p + ".") for q in paths)}
    leaving: dict[str, set[int]] = {p: set() for p in inner}
    consumed = set()
    for src, dst, _ in graph.edges:
        consumed.add(src)
        if modules[src] in inner and kinds[src] != "leaf" and modules[dst] != modules[src]:
            leaving[modules[src]].add(src)
    first: dict[str, int] = {}
    for nid, (m, k) in enumerate(zip(modules, kinds)):
        if m in inner and k != "leaf":
            if nid not in consumed:  # a traced output
                leaving[m].add(nid)
            seq = graph.sequence_nr(nid) or 0
            first[m] = min(first.get(m, seq), seq)
    out = []
    for path in sorted(inner, key=first.__getitem__):
        snaps = [s for n in sorted(leaving[path]) for s in graph.node(n).grad_snapshots
                 if s is not None and s.has_values]
        if snaps and all(map(finite, snaps)):
            norms = [_norm(s) for s in snaps]
            out.append(Layer(path, math.sqrt(sum(v * v for v in norms)),
                             tuple(sorted(leaving[path])), first[path]))
    return out


def _norm(snap) -> float:
    norm = whole_norm(snap)
    return norm if norm is not None else snap.stats.get("norm", 0.0)


def _steepest(found: list[Layer], vanishing: bool) -> tuple[Layer, float]:
    """The layer whose backward shrinks (or grows) the gradient most, and by what factor."""
    steps = [(found[k + 1], found[k].norm / found[k + 1].norm)
             for k in range(len(found) - 1) if found[k + 1].norm > 0]
    return (min if vanishing else max)(steps, key=lambda s: s[1])


def chains(graph: GradGraph, found: list[Layer]) -> list[list[Layer]]:
    """The layers split into the stacks they form: the last layer in forward order with every
    layer upstream of it, then the same among the layers left (two models summed into one loss
    are two stacks, not one from the first model's input to the second's output)."""
    rest, out = list(found), []
    while rest:
        last = rest[-1]
        up = set().union(*(upstream(graph, n) for n in last.outputs))
        chain = [layer for layer in rest[:-1] if not up.isdisjoint(layer.outputs)] + [last]
        out.append(chain)
        rest = [layer for layer in rest if layer not in chain]
    return out


@dataclass(frozen=True)
class Verdict:
    kind: str  # "vanishing" | "exploding" | "steady"
    line: str  # the one-line verdict
    chain: list[Layer]  # the stack of layers it is about, first layer first
    where: Layer | None  # the layer whose backward shrinks or grows the gradient most


def verdict(graph: GradGraph) -> Verdict | None:
    """The verdict on the stack whose first and last layers' norms differ most; None when no
    stack has two recorded layers with a finite gradient."""
    stacks = [c for c in chains(graph, layers(graph)) if len(c) > 1 and c[0].norm > 0
              and c[-1].norm > 0]
    if not stacks:
        return None
    chain = max(stacks, key=lambda c: abs(math.log(c[0].norm / c[-1].norm)))
    head, tail = chain[0], chain[-1]
    ratio = head.norm / tail.norm
    span = f"{head.path}'s gradient norm is {ratio:.2g}x {tail.path}'s ({len(chain)} layers)"
    if 1 / FACTOR <= ratio <= FACTOR:
        return Verdict("steady", f"Gradient scale: steady, {span}", chain, None)
    vanishing = ratio < 1
    layer, step = _steepest(chain, vanishing)
    verb = "shrinks" if vanishing else "grows"
    return Verdict("vanishing" if vanishing else "exploding",
                   f"Gradients {'vanish' if vanishing else 'explode'}: {span}; it {verb} most "
                   f"in {layer.path} ({step:.2g}x from its output to the layer before)",
                   chain, layer)


def summary_line(graph: GradGraph) -> str | None:
    """The verdict for the graph summary (the inspector shows it); without ``record()`` what
    would give one; None when there is nothing to compare."""
    found = verdict(graph)
    if found is None and graph.has_grads and not graph.recorded:
        return ("Gradient scale: the layers are unknown, as the forward pass was not recorded: "
                "gradviz.record() (gradviz run does) would compare the first and last layers' "
                "gradient norms")
    return found.line if found else None


def _listing(found: list[Layer]) -> list[str]:
    shown = found if len(found) <= LISTED else found[:LISTED // 2] + found[-LISTED // 2:]
    lines = [f"  {layer.norm:10.3g}  {layer.path}" for layer in shown]
    if len(shown) < len(found):
        hidden = len(found) - len(shown)
        lines.insert(LISTED // 2, f"  ... {hidden} more layer{'s' if hidden > 1 else ''}")
    return ["gradient norm at each layer's output, first layer first:", *lines]


FIXES = {
    "vanishing": "ReLU or GELU instead of sigmoid/tanh, a normalisation layer (nn.LayerNorm), "
                 "residual connections, or Kaiming/Xavier initialisation",
    "exploding": "the default nn.Linear initialisation (or nn.init.kaiming_uniform_), a "
                 "normalisation layer, or torch.nn.utils.clip_grad_norm_ before the step",
}


def check(graph: GradGraph | None, exc: BaseException | None) -> list[Finding]:
    found = verdict(graph) if graph is not None else None
    if found is None or found.where is None:
        return []
    outputs = found.where.outputs
    start = next((graph.cols.source[n] for n in outputs if graph.cols.source[n]), None)
    return [Finding("gradient_scale", Severity.INFO, found.line, tuple(_listing(found.chain)),
                    outputs, (start,) if start else (), FIXES[found.kind])]


CHECKS.append(check)
