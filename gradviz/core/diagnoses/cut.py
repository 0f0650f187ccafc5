"""Failure 3: the chain from the parameters to the loss was cut.

torch says "element 0 of tensors does not require grad and does not have a grad_fn": the loss
has no graph behind it. Somewhere between the parameters and the loss a ``torch.no_grad()`` or
``inference_mode`` block, a ``.detach()``, an ``.item()``/``.tolist()``/``.numpy()`` round
trip or an integer cast dropped the graph, or nothing ever required grad. ``record()`` notes
each such cut in the forward log (:mod:`gradviz.core.forwardlog`); the finding names them.
"""

from __future__ import annotations

from ..diagnosis import CHECKS, Finding, Severity
from ..forwardlog import LOG, Cut
from ..record import ever_recording
from .lines import raised_at

_ERROR = "does not require grad and does not have a grad_fn"

#: kind -> (what the cut did, ``{op}`` its op; how to keep the graph)
WHAT = {
    "no_grad": ("{op} ran under torch.no_grad()",
                "compute it outside the `with torch.no_grad():` block"),
    "inference_mode": ("{op} ran under torch.inference_mode()",
                       "compute it outside the `with torch.inference_mode():` block"),
    "detach": (".detach() cut it from the graph", "drop the .detach() on the way to the loss"),
    "data": (".data gave it without its graph", "use the tensor itself, not .data"),
    "item": (".item() made it a Python number",
             "keep it a tensor: compute with the tensor, not with .item()"),
    "tolist": (".tolist() made it Python numbers", "keep it a tensor, not a list"),
    "numpy": (".numpy() made it a NumPy array", "keep it a torch tensor: use torch ops"),
    "number": ("{op} made it a Python number",
               "keep it a tensor: compute with the tensor itself"),
    "integer": ("{op} gave an integer or boolean tensor, which carries no gradient",
                "keep the values floating point (a soft weighting instead of an integer cast)"),
    "copy": ("torch.{op}() copied its value without its graph",
             "use the tensor itself (or .clone(), which keeps the graph)"),
}


def describe(cut: Cut) -> str:
    """``train.py:20: linear ran under torch.no_grad() (inside, at model.py:8)``."""
    what = WHAT.get(cut.kind, ("{op} cut it", ""))[0].format(op=cut.op)
    inside = f" (inside, at {cut.where})" if cut.where and cut.where != cut.outer else ""
    return f"{cut.outer or cut.where or 'an unknown line'}: {what}{inside}"


def grouped(cuts: list[Cut]) -> list[Cut]:
    """One cut per outer line and kind (a model run under no_grad makes one per op)."""
    return list({(c.outer or c.where, c.kind): c for c in reversed(cuts)}.values())[::-1]


def check(graph, exc) -> list[Finding]:
    if not isinstance(exc, RuntimeError) or _ERROR not in str(exc):
        return []
    called = raised_at(exc)
    at = f" at {called}" if called else ""
    cuts = grouped(LOG.cuts_of_step())
    if not cuts:
        unknown = ("nothing in this step's forward cut a tensor that required grad, so none "
                   "did: requires_grad was never set (parameters frozen with "
                   "requires_grad_(False)? a leaf created without requires_grad=True?)"
                   if ever_recording() else
                   "the forward inside gradviz.record() (or the script under `gradviz run`) "
                   "would name the line where the chain was cut")
        return [Finding("cut_chain", Severity.ERROR,
                        f"backward{at}: the loss has no graph behind it", (unknown,),
                        where=(called,) if called else (),
                        suggestion="compute the loss from parameters (or inputs) that require "
                                   "grad, with no no_grad/detach/.item() on the way")]
    first = cuts[-1]  # the cut nearest the loss
    return [Finding(
        "cut_chain", Severity.ERROR,
        f"backward{at}: the loss has no graph behind it; the chain was cut at "
        f"{first.outer or first.where}",
        tuple(describe(c) for c in cuts),
        where=tuple(dict.fromkeys(w for c in cuts for w in (c.outer, c.where) if w))
        + ((called,) if called else ()),
        suggestion=f"{WHAT.get(first.kind, ('', 'keep the graph'))[1]} "
                   f"(at {first.outer or first.where})")]


CHECKS.append(check)
