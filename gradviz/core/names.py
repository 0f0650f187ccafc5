"""Give nodes the names people use: variables in the caller's frame, parameter paths."""

from __future__ import annotations

import torch

from .graph import GradGraph


def _tensors_in(namespace: dict):
    """(name, tensor, is a variable) for tensors and module parameters in a namespace."""
    for var, value in namespace.items():
        if var.startswith("_"):
            continue
        if isinstance(value, torch.Tensor):
            yield var, value, True
        elif isinstance(value, torch.nn.Module):
            for pname, p in value.named_parameters():
                yield pname, p, False


def find_names(graph: GradGraph, namespaces, modules=()) -> tuple[dict[int, str], set[int]]:
    """Name each node by the first variable that holds one of its output tensors.

    Parameters of ``modules`` (and of modules found in the namespaces) get their qualified
    name (``linear1.weight``). Multi-output ops are named per output: ``a, b``. Returns the
    names by node id, and the ids of nodes held by a plain variable: the tensors a user may
    ask about by name.
    """
    found: dict[int, dict[int, str]] = {}
    variables: set[int] = set()

    def offer(name: str, tensor: torch.Tensor, is_variable: bool) -> None:
        if tensor.grad_fn is None and not tensor.requires_grad:
            return
        try:
            nid, nr = graph._locate(tensor)
        except KeyError:
            return
        found.setdefault(nid, {}).setdefault(nr, name)
        if is_variable:
            variables.add(nid)

    for module in modules:
        for pname, p in module.named_parameters():
            offer(pname, p, False)
    for ns in namespaces:
        for var, tensor, is_variable in _tensors_in(ns):
            offer(var, tensor, is_variable)
    names = {nid: ", ".join(by_output[k] for k in sorted(by_output)) for nid, by_output in found.items()}
    return names, variables
