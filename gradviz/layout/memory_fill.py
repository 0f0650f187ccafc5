"""The memory colouring: each box filled by the activation bytes its ops saved for backward.

A log scale from light (little) to dark red (the most any box holds), so the heavy parts of
a model stand out at a glance. A box whose ops saved only parameters and inputs that require
grad (alive anyway) has a colour of its own, as has one whose saved tensors could not be
sized (checkpointed, sparse, meta, a tensor subclass), and one that saved nothing. A folded
module or run counts its members' storages once each (see :meth:`Memory.totals`) and writes
its total in its label.
"""

from __future__ import annotations

from gradviz.core.budget import format_bytes
from gradviz.core.collapse import View
from gradviz.core.graph import GradGraph
from gradviz.core.keys import NodeKey, parse_key

from .style import NormScale, ramp

#: Light to dark: the more a box holds, the darker (YlOrRd).
MEMORY_RAMP = ["#ffeda0", "#feb24c", "#fc4e2a", "#bd0026", "#5c0011"]
PARAMETERS = "#9ecae1"  # saved only parameters and inputs that require grad
UNKNOWN = "#c77dff"  # saved only tensors of unknown size
NOT_MEASURED = "not measured: run the forward inside gradviz.record()"


def saved_by_key(graph: GradGraph, view: View) -> dict:
    """Per visible key: its bytes by kind (storages counted once across its members) and
    how many of its saved tensors are of unknown size. Empty when memory was not measured."""
    mem = graph.memory
    if not mem.measured:
        return {}
    out = {}
    for key in view.keys:
        if isinstance(parse_key(key), NodeKey):
            ids, held = (key,), mem.held[key]
        else:
            ids = view.members[key]
            held = {s for n in ids for s in mem.held[n]}
        out[key] = {**mem.totals(held), "unknown": sum(mem.unknown[n] for n in ids)}
    return out


def scale_of(saved: dict) -> NormScale:
    return NormScale((s["activation"] for s in saved.values()), MEMORY_RAMP)


def memory_fill(saved: dict | None, scale: NormScale, muted: str) -> str:
    """The fill of one box: its activation bytes on ``scale``, else what it saved instead."""
    if saved is None:
        return muted
    if saved["activation"]:
        return scale.color(saved["activation"])
    if saved["parameter"]:
        return PARAMETERS
    return UNKNOWN if saved["unknown"] else muted


def legend(saved: dict, scale: NormScale, muted: str) -> list[tuple[str, str]]:
    if not saved:
        return [(muted, NOT_MEASURED)]
    steps = 4
    entries = [(ramp(i / steps, MEMORY_RAMP),
                format_bytes(round(10 ** (scale.lo + (scale.hi - scale.lo) * i / steps))))
               for i in range(steps + 1)] if scale.hi or scale.lo else []
    return entries + [(PARAMETERS, "only parameters / inputs"), (UNKNOWN, "unknown size"),
                      (muted, "saves nothing")]


def module_label(lines: list[str], saved: dict | None) -> list[str]:
    """A folded box's label with its total: ``block.0 — 3.1 MiB``."""
    if not saved or not saved["bytes"]:
        return lines
    return [f"{lines[0]} — {format_bytes(saved['bytes'])}", *lines[1:]]
