"""A :class:`Layout` written as SVG by us, not by Graphviz: linear in the size of the graph
(100,000 nodes in about a second), the same picture whatever engine placed the nodes, and no
Graphviz needed. Every node is a ``<g class="node">`` whose ``<title>`` is its key, as in
Graphviz's own SVG, so tools that read those keep working.
"""

from __future__ import annotations

import re
from xml.sax import saxutils

from .decorate import decorations
from .drawspec import (CLUSTER_FONTSIZE, CLUSTER_RADIUS, CLUSTER_TITLE_X, CLUSTER_TITLE_Y, FONT,
                       EDGE_FONTSIZE, FONTSIZE, arrowhead, folder, line_centres, octagon)
from .geometry import Layout, NodeBox

#: Characters XML 1.0 does not allow in a document at all, escaped or not: control
#: characters (a module key or a name from a session may hold them) and lone surrogates.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def escape(text: str) -> str:
    """``text`` as XML character data; characters XML cannot hold become U+FFFD."""
    return saxutils.escape(_NOT_XML.sub("\ufffd", text))


def quoteattr(text: str) -> str:
    return saxutils.quoteattr(_NOT_XML.sub("\ufffd", text))


def _f(x: float) -> str:
    """A coordinate to a tenth of a point: finer than any screen, and cheap to format (the
    busy writers below format several at once with ``%.1f``, for the same text)."""
    return "%.1f" % x


def _outline(b: NodeBox, pen: str) -> str:
    left, top, w, h = b.rect
    if b.shape == "plaintext":
        return ""
    if b.shape == "ellipse":
        return '<ellipse cx="%.1f" cy="%.1f" rx="%.1f" ry="%.1f"%s/>' % (b.x, b.y, w / 2, h / 2,
                                                                       pen)
    if b.shape in ("octagon", "folder"):
        corners = (octagon if b.shape == "octagon" else folder)(left, top, w, h)
        return f'<polygon points="{_points(corners)}"{pen}/>'
    return '<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f"%s/>' % (left, top, w, h, pen)


def _node(b: NodeBox, role: str = "node") -> str:
    pen = f' fill="{b.fill}" stroke="{b.border}" stroke-width="{_f(b.pen)}"'
    # a baseline 0.35 em below the line's centre centres the line's capitals and x-height
    text = "".join('<text x="%.1f" y="%.1f">%s</text>' % (b.x, y + FONTSIZE * 0.35, escape(line))
                   for line, y in zip(b.lines, line_centres(b.y, len(b.lines))) if line)
    mark = f' data-mark="{b.mark}"' if b.mark else ""
    return (f'<g class="{role} {b.kind}" id={quoteattr(f"{role}-{b.key}")}{mark}>'
            f'<title>{escape(str(b.key))}</title>{_outline(b, pen)}'
            f'<g fill="{b.text}">{text}</g></g>')


def _points(corners) -> str:
    return " ".join("%.1f,%.1f" % p for p in corners)


def _arrow(base, tip) -> str:
    return '<polygon points="%s"/>' % _points(arrowhead(base, tip))


def _edge(e, ink: str) -> str:
    if not e.points:
        return ""
    p = e.points
    d = "M%.1f,%.1f" % p[0] + "".join(" C%.1f,%.1f %.1f,%.1f %.1f,%.1f" % (*p[i], *p[i + 1],
                                                                           *p[i + 2])
                                      for i in range(1, len(p) - 2, 3))
    style = f' stroke="{e.color}" fill="{e.color}"'
    if e.pen != 1.0:
        style += f' stroke-width="{_f(e.pen)}"'
    head = _arrow(*e.arrow) if e.arrow else ""
    return (f'<g class="edge"{style}><path d="{d}" fill="none"/>{head}</g>') + _flow(e, ink)


def _flow(e, ink: str) -> str:
    """Its flow's label, values mode; the baseline sits so that the text centres on label_at."""
    if e.label_at is None:
        return ""
    x, y = e.label_at
    return (f'<text class="flow" x="{_f(x)}" y="{_f(y + EDGE_FONTSIZE * 0.35)}" '
            f'text-anchor="start" font-size="{EDGE_FONTSIZE}" fill="{ink}">'
            f'{escape(e.label)}</text>')


def to_svg_text(layout: Layout, *, title: str | None = None, scale: float = 1.0) -> str:
    extra, (x0, y0, x1, y1) = decorations(layout, title)
    w, h = x1 - x0, y1 - y0
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_f(w * scale)}pt" '
        f'height="{_f(h * scale)}pt" viewBox="{_f(x0)} {_f(y0)} {_f(w)} {_f(h)}">',
        f'<rect x="{_f(x0)}" y="{_f(y0)}" width="{_f(w)}" height="{_f(h)}" '
        f'fill="{layout.background}"/>',
        f'<g font-family="{FONT},Arial,sans-serif" font-size="{FONTSIZE}" text-anchor="middle">',
    ]
    for c in layout.clusters:
        out.append(
            f'<g class="cluster" id={quoteattr(f"cluster-{c.path}")}><rect x="{_f(c.x)}" '
            f'y="{_f(c.y)}" width="{_f(c.width)}" height="{_f(c.height)}" rx="{CLUSTER_RADIUS:g}" '
            f'fill="{c.fill}" stroke="{c.border}"/><text x="{_f(c.x + CLUSTER_TITLE_X)}" '
            f'y="{_f(c.y + CLUSTER_TITLE_Y + CLUSTER_FONTSIZE * 0.9)}" text-anchor="start" '
            f'font-size="{CLUSTER_FONTSIZE}" fill="{layout.ink}">'
            f'{escape(c.label)}</text></g>')
    out.extend(_edge(e, layout.ink) for e in layout.edges)
    out.extend(_node(b) for b in layout.nodes.values())
    out.extend(_node(b, "decoration") for b in extra)
    out.append("</g></svg>\n")
    return "\n".join(out)
