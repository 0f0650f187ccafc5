"""The backward player's memory chart on a ``--steps backward`` page, without Qt.

Bars of the bytes autograd still holds for backward after each step (from
:class:`~gradviz.core.memory.HeldCurve`, the data the app's chart plots), the steps already
run dark, those to come pale, and a line at the page's step. The bars and the caption are
boxes like the legend's (see :mod:`.decorate`), so the SVG writer, Graphviz (``neato -n2``)
and the fallback raster all draw them without knowing what they are.
"""

from __future__ import annotations

from dataclasses import replace

from gradviz.core.budget import format_bytes
from gradviz.core.keys import BoxKind
from gradviz.core.memory import HeldCurve

from .decorate import CHAR, PAD
from .geometry import Layout, NodeBox
from .style import theme as get_theme

HEIGHT = 90.0  # the tallest bar, in points
GAP = 18.0  # between the graph and the caption
CAPTION = 18.0
MIN_WIDTH = 360.0
MAX_BARS = 200  # more steps than this share bars: a page stays a few hundred boxes
RUN, TO_COME = "#bd0026", "#f2c4c8"  # bars of the steps run so far, and of those to come
MARK_WIDTH = 1.5


def _bars(points: int) -> list[range]:
    """The points each bar stands for: one each, or evenly shared when there are many."""
    bars = min(points, MAX_BARS)
    return [range(i * points // bars, (i + 1) * points // bars) for i in range(bars)]


def caption(curve: HeldCurve, at: int) -> str:
    return (f"Saved for backward still held after step {at} of {len(curve.held) - 1}: "
            f"{format_bytes(curve.held[at])} of {format_bytes(curve.held[0])}")


def on_page(picture: Layout, curve: HeldCurve, step: int) -> Layout:
    """``picture`` with the chart under the graph, marked after backward ``step`` (from 0)."""
    th = get_theme(picture.theme)
    at = HeldCurve.after(step)
    width = max(picture.width - 2 * PAD, MIN_WIDTH)
    top = picture.height + GAP
    base = top + CAPTION + HEIGHT
    peak = max(curve.held) or 1
    bars = _bars(len(curve.held))
    each = width / len(bars)
    boxes = {}
    text = caption(curve, at)
    boxes["memory:caption"] = NodeBox(
        "memory:caption", PAD + len(text) * CHAR / 2, top + CAPTION / 2, len(text) * CHAR,
        CAPTION, [text], BoxKind.NOTE, "plaintext", picture.background, picture.background,
        picture.ink)
    for i, points in enumerate(bars):
        height = HEIGHT * curve.held[points[0]] / peak  # held only falls: a bar's first is its most
        if height <= 0:
            continue
        fill = RUN if points[0] <= at else TO_COME
        boxes[f"memory:bar:{i}"] = NodeBox(
            f"memory:bar:{i}", PAD + each * (i + 0.5), base - height / 2, each, height, [""],
            BoxKind.SWATCH, "box", fill, fill, fill, pen=0.0)
    marked = next(i for i, points in enumerate(bars) if at in points)
    boxes["memory:mark"] = NodeBox(
        "memory:mark", PAD + each * (marked + 0.5), base - HEIGHT / 2 - 2, MARK_WIDTH,
        HEIGHT + 4, [""], BoxKind.SWATCH, "box", th.current, th.current, th.current, pen=0.0,
        mark="current")
    boxes["memory:axis"] = NodeBox(
        "memory:axis", PAD + width / 2, base, width, 0.8, [""], BoxKind.SWATCH, "box", th.ink,
        th.ink, th.ink, pen=0.0)
    return replace(picture, nodes={**picture.nodes, **boxes},
                   width=max(picture.width, width + 2 * PAD, len(text) * CHAR + 2 * PAD),
                   height=base + PAD)
