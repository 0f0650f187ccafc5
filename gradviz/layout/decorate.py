"""Title and legend for files: extra boxes placed outside the graph, and the canvas around all.

They are boxes like any node, so every writer (SVG, positioned DOT for PNG/PDF, the
fallback raster) draws them without knowing what they are.
"""

from __future__ import annotations

from gradviz.core.keys import BoxKind

from .geometry import Layout, NodeBox

TITLE_HEIGHT = 30.0
LEGEND_HEIGHT = 26.0
SWATCH = 14.0
PAD = 8.0
CHAR = 6.6  # width of a character at the node font size, for placing legend text


def decorations(layout: Layout, title: str | None = None):
    """(extra boxes, canvas (left, top, right, bottom)) in the layout's coordinates."""
    extra: list[NodeBox] = []
    top, bottom, right = 0.0, layout.height, layout.width
    if layout.legend:
        y = layout.height + LEGEND_HEIGHT / 2
        x = PAD
        for colour, text in layout.legend:
            extra.append(NodeBox(f"legend:{text}", x + SWATCH / 2, y, SWATCH, SWATCH, [""],
                                 BoxKind.SWATCH, "box", colour, layout.ink, layout.ink))
            x += SWATCH + 4
            width = len(text) * CHAR
            extra.append(NodeBox(f"legend-text:{text}", x + width / 2, y, width, SWATCH, [text],
                                 BoxKind.NOTE, "plaintext", layout.background, layout.background,
                                 layout.ink))
            x += width + 12
        bottom = layout.height + LEGEND_HEIGHT
        right = max(right, x)
    if title:
        top = -TITLE_HEIGHT
        extra.append(NodeBox("title", right / 2, -TITLE_HEIGHT / 2, max(len(title) * CHAR, 10),
                             TITLE_HEIGHT, [title], BoxKind.TITLE, "plaintext", layout.background,
                             layout.background, layout.ink))
    return extra, (0.0, top, right, bottom)
