"""Run a demo the way gradviz's script runner does, with an independent check on the side.

Every ``Tensor.backward`` the demo makes is intercepted. Before gradviz is involved,
``torch.autograd.grad`` computes the gradient flowing into every output of every autograd
Node (``GradientEdge`` inputs, so intermediate tensors need no variable) and w.r.t. each
tensor the demo holds in a variable, with the graph retained so the demo's own backward can
still run; our own pre-hooks note the order in which the engine fires the Nodes. Only then
does ``gradviz.trace`` arm its hooks, and the demo's backward runs.
"""

from __future__ import annotations

import runpy
import sys
from dataclasses import dataclass, field

import torch
from torch.autograd.graph import GradientEdge

import gradviz
from gradviz.demos import find


@dataclass
class Pass:
    graph: gradviz.GradGraph
    tensors: dict[str, torch.Tensor]  # variable name -> tensor in the graph
    expected: dict[str, torch.Tensor]  # variable name -> gradient from torch.autograd.grad
    node_grads: dict  # autograd Node -> gradient per output, from torch.autograd.grad
    fired: list  # autograd Nodes, in the order our own pre-hooks saw them fire


@dataclass
class Run:
    namespace: dict = field(default_factory=dict)
    passes: list[Pass] = field(default_factory=list)


def _named_tensors(namespace: dict):
    for var, value in namespace.items():
        if var.startswith("_"):
            continue
        if isinstance(value, torch.Tensor):
            yield var, value
        elif isinstance(value, (list, tuple)):
            for i, item in enumerate(value):
                if isinstance(item, torch.Tensor):
                    yield f"{var}[{i}]", item
        elif isinstance(value, torch.nn.Module):
            for name, p in value.named_parameters():
                yield f"{var}.{name}", p


def _all_nodes(root) -> list:
    seen, stack = {root}, [root]
    while stack:
        for nxt, _ in stack.pop().next_functions:
            if nxt is not None and nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return list(seen)


def _outputs(fn) -> int:
    return 1 if hasattr(fn, "variable") else len(fn._input_metadata)


def _expected(out: torch.Tensor, nodes: list, namespace: dict):
    leaves = {id(fn.variable) for fn in nodes if hasattr(fn, "variable")}
    tensors = {var: t for var, t in _named_tensors(namespace) if t.requires_grad and (
        t.grad_fn in nodes if t.grad_fn is not None else id(t) in leaves)}
    edges = [GradientEdge(fn, i) for fn in nodes for i in range(_outputs(fn))]
    grads = torch.autograd.grad(out, [*tensors.values(), *edges], retain_graph=True,
                                allow_unused=True)
    by_name = dict(zip(tensors, grads))
    rest = iter(grads[len(tensors):])
    by_node = {fn: tuple(next(rest) for _ in range(_outputs(fn))) for fn in nodes}
    return tensors, by_name, by_node


def run_demo(name: str, monkeypatch) -> Run:
    """Run demo ``name`` under ``gradviz.record()``; one :class:`Pass` per backward call."""
    run = Run()

    def backward(self, *args, **kwargs):
        namespace = sys._getframe(1).f_globals
        nodes = _all_nodes(self.grad_fn)
        tensors, by_name, by_node = _expected(self, nodes, namespace)
        fired = []
        handles = [fn.register_prehook(lambda grad_outputs, fn=fn: fired.append(fn))
                   for fn in nodes]
        graph = gradviz.trace(self, namespace=namespace)
        try:
            # not the original Tensor.backward: under record() it dispatches back to this patch
            torch.autograd.backward(self, *args, **kwargs)
        finally:
            for h in handles:
                h.remove()
        run.passes.append(Pass(graph, tensors, by_name, by_node, fired))

    monkeypatch.setattr(torch.Tensor, "backward", backward)
    with gradviz.record():
        run.namespace = runpy.run_path(str(find(name).path), run_name="gradviz_demo")
    return run
