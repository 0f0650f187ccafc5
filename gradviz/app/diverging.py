"""The colour scale every tensor view shares: zero white, negatives blue, positives red.

Symmetric around zero (its limit is the largest magnitude), so a colour tells the sign at a
glance and equal magnitudes look alike whatever the sign. The stops are ColorBrewer's RdBu.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtGui import QColor

STOPS = ((0.0, "#2166ac"), (0.25, "#92c5de"), (0.5, "#ffffff"), (0.75, "#f4a582"),
         (1.0, "#b2182b"))
#: NaN is off the scale: grey, so that it is never taken for zero (white). Infinities take
#: the ends of the scale.
NAN = "#7f7f7f"


def limit(values: np.ndarray) -> float:
    """The largest finite magnitude: the scale runs from minus it to plus it (1 if all zero)."""
    finite = np.abs(values[np.isfinite(values)])
    return float(finite.max()) if finite.size and finite.max() > 0 else 1.0


def color(value: float, lim: float) -> QColor:
    """The colour of ``value`` on the scale ``[-lim, lim]``."""
    if math.isnan(value):
        return QColor(NAN)
    t = 0.5 + 0.5 * max(-1.0, min(1.0, value / lim))
    for (p0, c0), (p1, c1) in zip(STOPS, STOPS[1:]):
        if t <= p1:
            a, b, f = QColor(c0), QColor(c1), (t - p0) / (p1 - p0)
            return QColor.fromRgbF(*(x + (y - x) * f for x, y in
                                     zip(a.getRgbF()[:3], b.getRgbF()[:3])))
    return QColor(STOPS[-1][1])


def ink(background: QColor) -> QColor:
    """Black text on the light middle of the scale, white on its dark ends."""
    return QColor("black") if background.lightnessF() > 0.55 else QColor("white")
