"""Give nodes the names people use: variables in the caller's frame, parameter paths."""

from __future__ import annotations

import torch

from .graph import GradGraph


def _tensors_in(namespace: dict):
    for var, value in namespace.items():
        if var.startswith("_"):
            continue
        if isinstance(value, torch.Tensor):
            yield var, value
        elif isinstance(value, torch.nn.Module):
            for pname, p in value.named_parameters():
                yield pname, p


def name_nodes(graph: GradGraph, namespaces, modules=()) -> None:
    """Name each node by the first variable that holds one of its output tensors.

    Parameters of ``modules`` (and of modules found in the namespaces) get their qualified
    name (``linear1.weight``). Multi-output ops are named per output: ``a, b``.
    """
    found: dict[int, dict[int, str]] = {}

    def offer(name: str, tensor: torch.Tensor) -> None:
        if tensor.grad_fn is None and not tensor.requires_grad:
            return
        try:
            nid, nr = graph._locate(tensor)
        except KeyError:
            return
        found.setdefault(nid, {}).setdefault(nr, name)

    for module in modules:
        for pname, p in module.named_parameters():
            offer(pname, p)
    for ns in namespaces:
        for var, tensor in _tensors_in(ns):
            offer(var, tensor)
    names = graph.cols.name
    for nid, by_output in found.items():
        if names[nid] is None:
            names[nid] = ", ".join(by_output[k] for k in sorted(by_output))
