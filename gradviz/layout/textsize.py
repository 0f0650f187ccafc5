"""How much room a label's text takes, computed here instead of by Graphviz.

``dot`` spends about 7 ms of a small graph's 18 ms starting its font system (pango and
fontconfig) the first time it measures a label; the layout itself takes a few. Handing it
boxes of the text's size instead of text (:func:`gradviz.layout.dotsource.to_dot` with
``sized=True``) skips that start, and gives the same boxes as before.

The widths are DejaVu Sans' advance widths (units of 1/2048 em, read once from
``DejaVuSans.ttf`` with Pillow), the font that Graphviz resolves ``Helvetica`` to on Linux and
one of the widest sans-serif faces. Like pango, each advance is rounded to whole pixels at 96
dpi, and no kerning is applied; measured against ``dot``'s own label sizes on 165 strings
this is within 1.25 points, and one point more keeps the text inside its box. A character
outside ASCII counts one em, the widest there is; a line is ``round(1.1 * fontsize)`` high,
as ``dot`` makes it.
"""

from __future__ import annotations

import math
from functools import lru_cache

from .drawspec import LINE_SPACING

UNITS_PER_EM = 2048
#: Advance widths of the characters " " (32) to "~" (126).
ASCII_WIDTHS = (
    651, 821, 942, 1716, 1303, 1946, 1597, 563, 799, 799, 1024, 1716, 651, 739, 651, 690,
    1303, 1303, 1303, 1303, 1303, 1303, 1303, 1303, 1303, 1303, 690, 690, 1716, 1716, 1716, 1087,
    2048, 1401, 1405, 1430, 1577, 1294, 1178, 1587, 1540, 604, 604, 1343, 1141, 1767, 1532, 1612,
    1235, 1612, 1423, 1300, 1251, 1499, 1401, 2025, 1403, 1251, 1403, 799, 690, 799, 1716, 1024,
    1024, 1255, 1300, 1126, 1300, 1260, 721, 1300, 1298, 569, 569, 1186, 569, 1995, 1298, 1253,
    1300, 1300, 842, 1067, 803, 1298, 1212, 1675, 1212, 1212, 1075, 1303, 690, 1303, 1716,
)
_WIDTH = {chr(32 + i): w for i, w in enumerate(ASCII_WIDTHS)}
PIXELS_PER_POINT = 96 / 72
SLACK = 1.0  # points


@lru_cache(maxsize=4096)  # op names and shapes repeat across a graph
def text_width(line: str, fontsize: float) -> float:
    """Width of one line in points, glyph advances rounded to pixels as pango does."""
    px = fontsize * PIXELS_PER_POINT / UNITS_PER_EM
    return sum(round(_WIDTH.get(ch, UNITS_PER_EM) * px) for ch in line) / PIXELS_PER_POINT


def text_size(lines: list[str], fontsize: float) -> tuple[int, int]:
    """(width, height) in whole points of a label of ``lines``; (0, 0) when it has no text."""
    width = max((text_width(line, fontsize) for line in lines), default=0.0)
    if not width:
        return 0, 0
    return math.ceil(width + SLACK), len(lines) * round(fontsize * LINE_SPACING)
