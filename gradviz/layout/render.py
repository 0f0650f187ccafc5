"""PNG and PDF of a :class:`Layout`: Graphviz draws it at our positions (``neato -n2``).

Graphviz only renders here, it lays nothing out, so this costs time linear in the graph and
the picture matches the SVG and the app. Clusters and decorations are fixed-size nodes drawn
first; edges keep their splines through their ``pos``. Without Graphviz, :mod:`.raster`
draws the same boxes with Pillow.
"""

from __future__ import annotations

from .decorate import decorations
from .dotsource import _label, _quoted as _q
from .drawspec import ARROW_SIZE, EDGE_FONTSIZE, FONT, FONTSIZE
from .geometry import Layout, NodeBox
from .graphviz_errors import GraphvizMissing
from .graphviz_run import DEFAULT_TIMEOUT, have_graphviz, run_graphviz
from .parse import POINTS_PER_INCH, flip
from .textsize import text_width

#: Largest PNG side in pixels: cairo gives up beyond 32,767, and nobody opens bigger.
MAX_PIXELS = 30_000


def _node_line(name: str, b: NodeBox, bottom: float, extra: str = "") -> str:
    attrs = {
        "pos": f"{b.x:.2f},{flip(b.y, bottom):.2f}!", "width": f"{b.width / POINTS_PER_INCH:.4f}",
        "height": f"{b.height / POINTS_PER_INCH:.4f}", "shape": b.shape,
        "fillcolor": b.fill, "color": b.border, "fontcolor": b.text, "penwidth": f"{b.pen:g}",
    }
    return (f"{_q(name)} [label={_label(b.lines)} "
            + " ".join(f"{k}={_q(v)}" for k, v in attrs.items()) + extra + "];")


def positioned_dot(layout: Layout, title: str | None = None) -> str:
    """DOT with every position fixed, for ``neato -n2``: Graphviz draws, it does not place."""
    extra, (x0, y0, x1, y1) = decorations(layout, title)
    bottom = y1  # flip about the canvas bottom, so the canvas starts at y=0 for Graphviz
    shift = -y0
    lines = [
        "digraph gradviz {",
        f'graph [bgcolor={_q(layout.background)} bb="{x0:.2f},0,{x1:.2f},{y1 + shift:.2f}" '
        f'pad="0.05"];',
        f'node [style=filled fixedsize=true fontname={_q(FONT)} fontsize={FONTSIZE}];',
        f"edge [arrowsize={ARROW_SIZE:g}];",
    ]
    for i, c in enumerate(layout.clusters):
        box = NodeBox(f"c{i}", c.x + c.width / 2, c.y + c.height / 2, c.width, c.height, [c.label],
                      "cluster", "box", c.fill, c.border, layout.ink)
        lines.append(_node_line(f"cluster-box:{i}", box, bottom,
                                ' style="rounded,filled" labelloc=t labeljust=l fontsize=10'))
    for b in layout.nodes.values():
        lines.append(_node_line(f"n:{b.key}", b, bottom))
    for b in extra:
        lines.append(_node_line(f"x:{b.key}", b, bottom))
    for e in layout.edges:
        if not e.points:
            continue
        pts = " ".join(f"{x:.2f},{flip(y, bottom):.2f}" for x, y in e.points)
        if e.arrow:
            tx, ty = e.arrow[1]
            pts = f"e,{tx:.2f},{flip(ty, bottom):.2f} " + pts
        lines.append(f'{_q(f"n:{e.src}")} -> {_q(f"n:{e.dst}")} [pos={_long(pts)} '
                     f'color={_q(e.color)} penwidth={e.pen:g}{_flow(e, layout.ink, bottom)}];')
    lines.append("}")
    return "\n".join(lines)


def _flow(e, ink: str, bottom: float) -> str:
    """An edge's flow label (values mode) at ``label_at``: Graphviz centres it on ``lp``."""
    if e.label_at is None:
        return ""
    x, y = e.label_at
    x += text_width(e.label, EDGE_FONTSIZE) / 2
    return (f' label={_q(e.label)} lp="{x:.2f},{flip(y, bottom):.2f}" '
            f'fontsize={EDGE_FONTSIZE} fontname={_q(FONT)} fontcolor={_q(ink)}')


#: Graphviz reads no quoted string longer than 16,384 characters; DOT's ``+`` joins pieces.
MAX_QUOTED = 16000


def _long(text: str) -> str:
    """``text`` quoted, in ``+``-joined pieces when long: an edge that runs down a whole
    deep model (a shared weight's trunk) has thousands of points."""
    pieces, start = [], 0
    while len(text) - start > MAX_QUOTED:
        cut = text.rindex(" ", start, start + MAX_QUOTED) + 1
        pieces.append(text[start:cut])
        start = cut
    pieces.append(text[start:])
    return " + ".join(map(_q, pieces))


def render(layout: Layout, fmt: str, *, title: str | None = None, dpi: float = 96.0,
           scale: float = 1.0, timeout: float = DEFAULT_TIMEOUT, should_stop=None) -> bytes:
    """``fmt`` "png" or "pdf" bytes. For PNG, ``dpi`` and ``scale`` multiply (pixels = points
    * dpi / 72 * scale), capped so the longest side stays under :data:`MAX_PIXELS`; a PDF is
    vector and keeps the layout's size in points."""
    _, (x0, y0, x1, y1) = decorations(layout, title)
    factor = 1.0
    if fmt == "png":
        factor = min(scale * dpi / 72.0, MAX_PIXELS / max(x1 - x0, y1 - y0, 1.0))
    if not have_graphviz():
        from .raster import raster  # lazy: Pillow loads only when Graphviz cannot draw

        return raster(layout, fmt, title=title, factor=factor)
    args = ["-n2", f"-Gdpi={72.0 * factor:.3f}"] if fmt == "png" else ["-n2"]
    try:
        return run_graphviz(positioned_dot(layout, title), fmt, engine="neato", args=args,
                            timeout=timeout, should_stop=should_stop)
    except GraphvizMissing:  # dot present but not neato: an unusual install
        from .raster import raster  # lazy: as above

        return raster(layout, fmt, title=title, factor=factor)
