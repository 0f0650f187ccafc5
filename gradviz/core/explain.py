"""``gradviz.explain``: why PyTorch left ``.grad`` empty, what gradviz caught, how to keep it;
and, given the exception a backward raised, what went wrong and on which of the user's lines."""

from __future__ import annotations

import traceback
from typing import TYPE_CHECKING

import torch

from .diagnoses.lines import backward_roots
from .diagnosis import diagnose
from .record import ever_recording
from .traced import live_graphs

if TYPE_CHECKING:
    from .graph import GradGraph, GradNode


def _fmt(t: torch.Tensor) -> str:
    return str(t.detach().cpu()).replace("\n", "\n    ")


def _newest_node(tensor: torch.Tensor) -> GradNode | None:
    for key in sorted(live_graphs.keys(), reverse=True):
        graph = live_graphs.get(key)
        if graph is not None and graph.contains(tensor):
            return graph.node_for(tensor)
    return None


def _shares_inputs_with_a_trace(tensor: torch.Tensor, limit: int = 10_000) -> bool:
    """Whether the graph behind ``tensor`` reaches any node of a live traced graph."""
    graphs = [g for g in list(live_graphs.values()) if g is not None]
    seen, stack = set(), [tensor.grad_fn]
    while stack and len(seen) < limit:
        fn = stack.pop()
        if fn in seen:
            continue
        seen.add(fn)
        if any(fn in g.index for g in graphs):
            return True
        stack.extend(nxt for nxt, _ in fn.next_functions if nxt is not None)
    return False


def _why(tensor: torch.Tensor, name: str, node: GradNode | None) -> tuple[str, str]:
    """(why .grad is what it is, the one line that keeps the gradient)."""
    if not tensor.requires_grad:
        return (f"{name} does not require grad: it was made from tensors without requires_grad, "
                "under torch.no_grad()/inference_mode, or cut from the graph by .detach(). "
                "Autograd never computes a gradient for it.",
                f"{name}.requires_grad_()  # on the input, before computing from it")
    if tensor.grad_fn is not None:  # an intermediate (non-leaf) tensor
        if tensor.retains_grad:
            return (f"{name} calls retain_grad(), so PyTorch fills {name}.grad after the next "
                    "backward through it.", f"{name}.retain_grad()  # already done")
        return (f"{name} is not a leaf: it was computed by {tensor.grad_fn.name()}. PyTorch fills "
                ".grad only for leaf tensors; the gradient of an intermediate tensor exists for a "
                "moment during backward and is then freed.",
                f"{name}.retain_grad()  # before backward(); or gradviz.trace(output) before backward()")
    reached = node is not None and node.graph.has_grads and node.grad_snapshot is not None
    if reached and tensor.grad is None:
        return (f"{name} is a leaf, and the backward pass reached it, but the gradient was taken "
                "with torch.autograd.grad, which returns gradients instead of filling .grad.",
                "loss.backward()  # instead of torch.autograd.grad(loss, ...), to fill .grad")
    if tensor.grad is None:
        return (f"{name} is a leaf that requires grad, but no backward pass has reached it yet: "
                "backward was not called, or {name} is not on the path to the output that was "
                "differentiated.".format(name=name),
                "loss.backward()  # with loss computed from " + name)
    return (f"{name} is a leaf, so PyTorch keeps its gradient in {name}.grad.", f"{name}.grad")


def explain(what, graph: GradGraph | str | None = None, name: str | None = None) -> str:
    """Answer in words: for a tensor, "why is ``tensor.grad`` None, and what was its
    gradient?" (``explain(t, "W")`` names it); for an exception that backward raised, what
    went wrong and on which lines (:func:`explain_error`; ``graph``: the pass it failed in)."""
    if isinstance(what, BaseException):
        return explain_error(what, graph if not isinstance(graph, str) else None)
    if isinstance(graph, str) and name is None:
        name = graph
    return _explain_tensor(what, name)


def _failed_pass(exc: BaseException) -> GradGraph | None:
    """The newest traced graph of the tensors whose backward raised ``exc``; None when
    none was traced."""
    roots = [t.grad_fn for t in backward_roots(exc) if getattr(t, "grad_fn", None) is not None]
    for key in sorted(live_graphs.keys(), reverse=True):
        graph = live_graphs.get(key)
        if graph is not None and roots and all(fn in graph.index for fn in roots):
            return graph
    return None


def explain_error(exc: BaseException, graph: GradGraph | None = None) -> str:
    """The diagnoses of ``exc`` (:func:`~gradviz.core.diagnosis.diagnose`), then its message
    as raised, which is never left out; an exception no diagnosis recognises is shown as it
    is, with no guess. ``graph``: the traced pass that raised (default: the newest traced
    graph of the tensors that backward differentiated)."""
    findings = diagnose(graph if graph is not None else _failed_pass(exc), exc)
    original = traceback.format_exception_only(type(exc), exc)[-1].strip()
    if not findings:
        return ("gradviz does not recognise this error, so it makes no guess. As raised:\n    "
                + original.replace("\n", "\n    "))
    lines = []
    for finding in findings:
        first, *rest = finding.lines()
        lines += [first, *("    " + line for line in rest)]
    if not ever_recording() and not any(f.where for f in findings):
        lines.append("Without gradviz.record() gradviz sees the graph, not your code: run the "
                     "forward inside gradviz.record() (or the script with `gradviz run`) and it "
                     "names the lines.")
    lines += ["The error as raised:", "    " + original.replace("\n", "\n    ")]
    return "\n".join(lines)


def _explain_tensor(tensor: torch.Tensor, name: str | None = None) -> str:
    if not isinstance(tensor, torch.Tensor):
        raise TypeError("explain() takes a torch.Tensor or an exception, not "
                        f"{type(tensor).__name__}")
    node = _newest_node(tensor)
    name = name or (node.name if node is not None and node.name else "this tensor")
    why, keep = _why(tensor, name, node)
    lines = [why]
    if node is None:
        if tensor.grad_fn is not None and _shares_inputs_with_a_trace(tensor):
            lines.append(f"{name} was computed from tensors in a graph gradviz traced, but it is "
                         "not on the path to the traced output, so no gradient flows through it.")
        elif tensor.grad_fn is not None:
            lines.append("gradviz has not traced it: call gradviz.trace(output) before backward().")
    else:
        lines.append(_captured(node, tensor.output_nr if tensor.grad_fn is not None else 0))
    lines.append(f"To keep it: {keep}")
    return "\n".join(lines)


def _captured(node: GradNode, output_nr: int = 0, written: bool = True) -> str:
    graph = node.graph
    snaps = node.grad_snapshots
    snap = snaps[output_nr] if output_nr < len(snaps) else None
    if snap is not None and snap.data is not None:
        if not written:
            return "gradviz captured its gradient during backward (shown above)."
        return f"gradviz captured its gradient during backward:\n    {_fmt(snap.data)}"
    if snap is not None and not snap.has_values:
        return (f"gradviz saw its gradient during backward: {list(snap.shape)} {snap.dtype} on "
                f"{snap.device}, a tensor without data to read (no values to show).")
    if snap is not None:
        return (f"gradviz captured its gradient during backward, but kept only a summary (shape "
                f"{list(snap.shape)}, norm {snap.stats['norm']:.6g}): "
                f"{graph.capture.why_summarised()}.")
    if graph.has_grads and node.order is not None:
        return ("The traced backward pass ran its op, but no gradient flowed into this output: "
                "nothing that was differentiated depends on it.")
    if graph.has_grads:
        return "The traced backward pass did not reach it: it is not on the path to the inputs that were differentiated."
    if graph.warnings:
        return graph.warnings[0]
    return "gradviz is tracing it: its gradient will be captured by the next backward()."


def explain_node(node: GradNode, written: bool = True) -> str:
    """The inspector's text for a node, whether or not its tensor still exists; ``written``:
    with the captured gradient written out (the inspector shows it above instead)."""
    if node.kind == "leaf" and node.tensor is not None:
        return _explain_tensor(node.tensor, node.name or "this leaf")
    name = node.name or f"the output of {node.op}"
    lines = [f"{name} is not a leaf: it was computed by {node.op}. PyTorch fills .grad only for "
             "leaf tensors, so its .grad stays None; the gradient exists only during backward."]
    lines.append(_captured(node, written=written))
    lines.append(f"To keep it: {node.name or 'tensor'}.retain_grad()  # before backward(); "
                 "or gradviz.trace(output) before backward()")
    return "\n".join(lines)
