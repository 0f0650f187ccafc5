"""PNG and PDF drawn with Pillow, for when Graphviz is not installed.

The same boxes, curves and colours as the Graphviz rendering, plainer (no antialiased
curves, a bundled or default font); the PDF is one raster page. Enough that exports work
everywhere, with the install hint already in the layout's warnings.
"""

from __future__ import annotations

import io

from PIL import Image, ImageDraw, ImageFont

from .decorate import decorations
from .drawspec import (CLUSTER_FONTSIZE, CLUSTER_RADIUS, CLUSTER_TITLE_X, CLUSTER_TITLE_Y,
                       EDGE_FONTSIZE, FONTSIZE, arrowhead, folder, line_centres, octagon)
from .geometry import Layout, NodeBox

STEPS = 8  # straight pieces per Bezier segment


def _font(size: float):
    for name in ("DejaVuSans.ttf", "Arial.ttf", "LiberationSans-Regular.ttf"):
        try:
            return ImageFont.truetype(name, max(int(size), 6))
        except OSError:
            continue
    return ImageFont.load_default(max(int(size), 6))


def _bezier(points):
    """Cubic B-spline control points ``p0 (c1 c2 p)*`` -> polyline."""
    out = [points[0]]
    for i in range(1, len(points) - 2, 3):
        p0, c1, c2, p3 = points[i - 1], points[i], points[i + 1], points[i + 2]
        for k in range(1, STEPS + 1):
            t = k / STEPS
            a, b, c, d = (1 - t) ** 3, 3 * (1 - t) ** 2 * t, 3 * (1 - t) * t * t, t ** 3
            out.append((a * p0[0] + b * c1[0] + c * c2[0] + d * p3[0],
                        a * p0[1] + b * c1[1] + c * c2[1] + d * p3[1]))
    return out


def raster(layout: Layout, fmt: str, *, title: str | None = None, factor: float = 1.0) -> bytes:
    extra, (x0, y0, x1, y1) = decorations(layout, title)
    size = (max(int((x1 - x0) * factor), 1), max(int((y1 - y0) * factor), 1))
    image = Image.new("RGB", size, layout.background)
    draw = ImageDraw.Draw(image)
    font = _font(FONTSIZE * factor)

    def at(x, y):
        return ((x - x0) * factor, (y - y0) * factor)

    for c in layout.clusters:
        draw.rounded_rectangle([at(c.x, c.y), at(c.x + c.width, c.y + c.height)],
                               CLUSTER_RADIUS * factor, fill=c.fill, outline=c.border)
        draw.text(at(c.x + CLUSTER_TITLE_X, c.y + CLUSTER_TITLE_Y), c.label, fill=layout.ink,
                  font=_font(CLUSTER_FONTSIZE * factor))
    for e in layout.edges:
        if e.points:
            draw.line([at(*p) for p in _bezier(e.points)], fill=e.color,
                      width=max(int(e.pen * factor), 1))
        if e.arrow:
            draw.polygon([at(*p) for p in arrowhead(*e.arrow)], fill=e.color)
        if e.label_at is not None:  # values mode: the flow it carried back
            draw.text(at(*e.label_at), e.label, fill=layout.ink, anchor="lm",
                      font=_font(EDGE_FONTSIZE * factor))
    for b in [*layout.nodes.values(), *extra]:
        _node(draw, b, at, factor, font)
    buf = io.BytesIO()
    if fmt == "pdf":
        image.save(buf, "PDF", resolution=72.0 * factor)
    else:
        image.save(buf, "PNG")
    return buf.getvalue()


def _node(draw, b: NodeBox, at, factor: float, font) -> None:
    left, top, w, h = b.rect
    box = [at(left, top), at(left + w, top + h)]
    style = {"fill": b.fill, "outline": b.border, "width": max(int(b.pen * factor), 1)}
    if b.shape == "ellipse":
        draw.ellipse(box, **style)
    elif b.shape in ("octagon", "folder"):
        corners = (octagon if b.shape == "octagon" else folder)(left, top, w, h)
        draw.polygon([at(*p) for p in corners], **style)
    elif b.shape != "plaintext":
        draw.rectangle(box, **style)
    for line, y in zip(b.lines, line_centres(b.y, len(b.lines))):
        if line:
            draw.text(at(b.x, y), line, fill=b.text, font=font, anchor="mm")
