"""Colours and shapes: what a node looks like, by kind, theme, gradient health, player state
and diagnosis marks.

Kinds differ by shape as well as colour (leaf ellipse, op box, output octagon, collapsed
module folder), so a greyscale print still tells them apart. Styling never changes a node's
size, which is what lets :func:`gradviz.layout.restyle` reuse positions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

SHAPES = {"leaf": "ellipse", "op": "box", "output": "octagon", "module": "folder"}


@dataclass(frozen=True)
class Theme:
    background: str
    ink: str  # text, edges, borders
    edge: str
    fills: dict  # kind -> fill
    cluster_fill: str
    cluster_border: str
    current: str  # player: the node being stepped
    done: str  # player: border of nodes already visited
    muted: str  # fill of nodes without a gradient in grad-norm colouring
    marked: str  # border of the nodes a diagnosis points at


THEMES = {
    "light": Theme("#ffffff", "#1a1a1a", "#555555",
                   {"leaf": "#cfe2f3", "op": "#f2f2f2", "output": "#c6e5c0", "module": "#fdefc3"},
                   "#f7f7fb", "#b8b8c8", "#ffb347", "#2b7bba", "#e4e4e4", "#c2255c"),
    "dark": Theme("#1e1f22", "#e6e6e6", "#9a9a9a",
                  {"leaf": "#24415e", "op": "#34363b", "output": "#2f5a2b", "module": "#5c4a1a"},
                  "#26282c", "#4a4d55", "#c77700", "#5fa8e8", "#3a3a3a", "#f06595"),
}

NONFINITE = "#e0301e"  # NaN or Inf in a gradient (grad-norm colouring)
ZERO = "#9e9e9e"  # an all-zero gradient

# A perceptually ordered ramp (viridis stops): small norms dark blue, large norms yellow.
RAMP = ["#440154", "#3b528b", "#21918c", "#5ec962", "#fde725"]


def theme(name: str) -> Theme:
    try:
        return THEMES[name]
    except KeyError:
        raise ValueError(f"unknown theme {name!r}; use one of: {', '.join(THEMES)}") from None


def _mix(a: str, b: str, t: float) -> str:
    ca = [int(a[i:i + 2], 16) for i in (1, 3, 5)]
    cb = [int(b[i:i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{round(x + (y - x) * t):02x}" for x, y in zip(ca, cb))


def ramp(t: float, stops: list[str] = RAMP) -> str:
    """Colour at ``t`` in [0, 1] along ``stops`` (default :data:`RAMP`)."""
    t = min(max(t, 0.0), 1.0) * (len(stops) - 1)
    i = min(int(t), len(stops) - 2)
    return _mix(stops[i], stops[i + 1], t - i)


def text_on(fill: str) -> str:
    """Black or white text, whichever reads on ``fill``."""
    r, g, b = (int(fill[i:i + 2], 16) for i in (1, 3, 5))
    return "#000000" if 0.299 * r + 0.587 * g + 0.114 * b > 140 else "#ffffff"


class NormScale:
    """log10 of gradient norms (or other positive sizes) mapped onto ``stops`` (default
    :data:`RAMP`), from the smallest to the largest."""

    def __init__(self, norms, stops: list[str] = RAMP):
        logs = [math.log10(n) for n in norms if n is not None and math.isfinite(n) and n > 0]
        self.lo, self.hi = (min(logs), max(logs)) if logs else (0.0, 0.0)
        self.stops = stops

    def color(self, norm: float) -> str:
        if self.hi == self.lo:
            return ramp(0.5, self.stops)
        return ramp((math.log10(norm) - self.lo) / (self.hi - self.lo), self.stops)

    def legend(self, muted: str) -> list[tuple[str, str]]:
        steps = 4
        entries = []
        for i in range(steps + 1):
            value = self.lo + (self.hi - self.lo) * i / steps
            entries.append((ramp(i / steps), f"|grad| {10 ** value:.2g}"))
        return entries + [(ZERO, "zero grad"), (NONFINITE, "NaN / Inf"), (muted, "no grad")]


def grad_fill(stats: dict | None, scale: NormScale, muted: str) -> str:
    """Fill for one node in grad-norm colouring; ``stats`` of its gradient or None."""
    if stats is None:
        return muted
    if stats["nan"] or stats["inf"]:
        return NONFINITE
    if not stats["norm"]:
        return ZERO
    return scale.color(stats["norm"])
