"""The diff colouring: each box filled by how its norm changed from pass A to pass B.

A diverging ramp on log10(B / A): blue where the norm shrank, white where it stayed, red
where it grew, symmetric about 1x and as wide as the largest change drawn (at least 2x
either way, so noise is not painted as change). Nodes only one pass had are drawn apart,
off the ramp, with a thick border: violet only in A, green only in B. A folded box compares
the norm of all its matched members together.
"""

from __future__ import annotations

import math

from gradviz.core.collapse import View
from gradviz.core.diff import Diff, check_measure, log_ratio
from gradviz.core.keys import NodeKey, parse_key

from .style import NONFINITE, _mix

#: Blue (shrank) - white (same) - red (grew): ColorBrewer's RdBu, ends darkened for contrast.
SHRANK, SAME, GREW = "#2166ac", "#f7f7f7", "#b2182b"
ONLY_A, ONLY_B = "#c2a5cf", "#a6dba0"  # off the ramp: PRGn's violet and green
ONLY_BORDER = {"a": "#762a83", "b": "#1b7837"}
ONLY_PEN = 3.0
#: The ramp spans at least this many decades either way (log10 2: half to twice).
LEAST_SPAN = math.log10(2)


def _squares(norms) -> float | None:
    """The norm of several tensors together from their norms; None if one is missing."""
    total = 0.0
    for n in norms:
        if n is None:
            return None
        total += n * n
    return math.sqrt(total)


def key_ratios(diff: Diff, view: View, measure: str) -> dict:
    """Per visible key: the log10 ratio (a number, NaN without one), or ``"a"``/``"b"`` for
    a node only one pass had, or ``"nonfinite"``."""
    check_measure(measure)
    out = {}
    for key in view.keys:
        members = [key] if isinstance(parse_key(key), NodeKey) else view.members[key]
        changes = [diff.changes[n] for n in members]
        both = [c for c in changes if c.where == "both"]
        if not both:
            out[key] = changes[0].where if changes else math.nan
        elif not all(c.finite for c in both):
            out[key] = "nonfinite"
        else:
            pairs = [c.norms(measure) for c in both]
            a = _squares(p[0] for p in pairs)
            b = _squares(p[1] for p in pairs)
            out[key] = log_ratio(a, b)
    return out


def span(ratios) -> float:
    finite = [abs(r) for r in ratios if isinstance(r, float) and math.isfinite(r)]
    return max([LEAST_SPAN, *finite])


def fill(ratio, width: float, muted: str) -> str:
    """The fill of one box: its ratio on the ramp (clamped: +-inf at the ends)."""
    if ratio in ("a", "b"):
        return ONLY_A if ratio == "a" else ONLY_B
    if ratio == "nonfinite":
        return NONFINITE
    if math.isnan(ratio):
        return muted
    t = max(-1.0, min(1.0, ratio / width))
    return _mix(SAME, GREW, t) if t >= 0 else _mix(SAME, SHRANK, -t)


def _times(decades: float) -> str:
    factor = 10 ** decades
    return f"x{factor:.3g}" if factor >= 1 else f"x1/{1 / factor:.3g}"


def legend(width: float, names: tuple[str, str], muted: str) -> list[tuple[str, str]]:
    """(colour, text) entries from the largest shrink to the largest growth, then the rest."""
    entries = [(fill(width * t, width, muted), _times(width * t)) for t in (-1, -0.5, 0, 0.5, 1)]
    return entries + [(ONLY_A, f"only in {names[0]}"), (ONLY_B, f"only in {names[1]}"),
                      (NONFINITE, "NaN / Inf"), (muted, "no norm")]


def title(diff: Diff, measure: str) -> str:
    what = "gradient" if measure == "grad" else "value"
    return f"{what} norm, {diff.names[1]} / {diff.names[0]}"
