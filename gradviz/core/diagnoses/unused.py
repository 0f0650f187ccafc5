"""Failure 3's silent cousin: parameters that get no gradient from a backward pass.

Their ``.grad`` stays None, the optimizer skips them, and DistributedDataParallel stops
("Expected to have finished reduction in the prior iteration": ``find_unused_parameters``).
Which parameters the pass misses is known when it is traced, before backward: those of the
recorded modules that are not leaves of its graph. Why comes from the forward log: used only
under ``no_grad``, cut by ``.detach()``/``.item()``, or not used on the way to the loss.
"""

from __future__ import annotations

from ..diagnosis import CHECKS, Finding, Severity
from ..forwardlog import LOG
from ..record import recorded_roots

INFO_KEY = "unused_parameters"


def _why(cut) -> str:
    if cut is None:
        return "not used on the way to the loss"
    if cut.kind in ("no_grad", "inference_mode"):
        return f"used only under torch.{cut.kind}()"
    return f"cut by .{cut.op}()" if cut.kind != "number" else f"cut by {cut.op}"


def note_unused(graph) -> None:
    """Keep, in ``graph.info``, each parameter of the recorded modules this pass reaches
    none of: (name, why, line). Run by ``trace`` while the modules live (after the script
    ends, nothing may hold them)."""
    leaves = graph.leaf_index
    roots = [m for m in list(recorded_roots) if any(p in leaves for p in m.parameters())]
    if not roots:
        return
    by_leaf = {}
    for cut in LOG.cuts_of_step():
        for leaf in cut.leaves:
            by_leaf.setdefault(leaf, cut)
    unused = []
    for module in roots:
        for name, p in module.named_parameters():
            if p.requires_grad and p not in leaves:
                cut = by_leaf.get(id(p))
                unused.append((name, _why(cut), None if cut is None else cut.where or cut.outer))
    if unused:
        graph.info[INFO_KEY] = unused


def check(graph, exc) -> list[Finding]:
    if graph is None or exc is not None or not graph.info.get(INFO_KEY):
        return []
    groups: dict[tuple, list[str]] = {}
    for name, why, where in graph.info[INFO_KEY]:
        groups.setdefault((why, where), []).append(name)
    findings = []
    for (why, where), names in groups.items():
        shown = ", ".join(names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "")
        at = f" ({where})" if where else ""
        findings.append(Finding(
            "unused_parameters", Severity.WARNING,
            f"{where + ': ' if where else ''}{len(names)} parameter"
            f"{'s' if len(names) > 1 else ''} got no gradient ({why}): {shown}",
            (f"their .grad stays None and the optimizer skips them{at}",
             "DistributedDataParallel stops on them unless given find_unused_parameters=True"),
            where=(where,) if where else (),
            suggestion="use them on the way to the loss, or freeze them "
                       "(p.requires_grad_(False)) if they are not meant to learn"))
    return findings


CHECKS.append(check)
