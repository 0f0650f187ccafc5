"""The four renderers draw one graph alike: node boxes and arrowheads within a pixel.

Graphviz is the reference, because it is the one renderer that draws shapes its own way
(it is only told a shape's name, size and position): its vector drawing (``neato -n2 -Tsvg``
on the very DOT that makes the PNG and PDF) gives each node's outline and each arrowhead's
corners. Our SVG (parsed), the Qt items (their paths' geometry) and both PNGs (Pillow's and
Graphviz's own, measured in pixels) must match it within one pixel of a PNG drawn at 144 dpi
(half a point; the PNGs also get the outline pen's half width, another pixel); the PDF must
have the PNG's size, plus Graphviz's margin.
"""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET

import numpy as np
import pytest
import torch
from PIL import Image
from pypdf import PdfReader
from PySide6.QtCore import QRectF
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtWidgets import QGraphicsScene

import gradviz
from gradviz.app.items import EdgeBundle, NodeItem
from gradviz.layout import layout
from gradviz.layout.graphviz_run import have_graphviz, run_graphviz
from gradviz.layout.raster import raster
from gradviz.layout.render import positioned_dot, render
from gradviz.layout.svg import to_svg_text
from tests.app.conftest import out
from tests.core import seed

SCALE = 2.0  # PNG pixels per point (144 dpi)
TOL = 1 / SCALE  # one pixel, in points
SVG = "{http://www.w3.org/2000/svg}"
PAD = 3.6  # points around Graphviz's drawing (render's pad="0.05")

pytestmark = pytest.mark.skipif(not have_graphviz(), reason="Graphviz is the reference")


@pytest.fixture(scope="module")
def placed():
    """A leaf (ellipse), ops (boxes), the output (octagon) and a folded module (folder)."""
    net = seed.Net1Linear()
    X, _, _ = seed.tensors()
    with gradviz.record():
        y = torch.relu(net(X)).sum() * 2
    g = gradviz.trace(y)
    y.backward()
    lay = layout(g, collapsed=frozenset({"linear1"}))
    assert {b.shape for b in lay.nodes.values()} == {"ellipse", "box", "octagon", "folder"}
    return lay


def _points(text: str) -> list[tuple[float, float]]:
    return [tuple(map(float, p.split(","))) for p in text.split()]


def _bbox(points) -> tuple[float, float, float, float]:
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    return min(xs), min(ys), max(xs), max(ys)


def _outline(el) -> tuple[str, list[tuple[float, float]]]:
    """(tag, corners) of an SVG outline; an ellipse as its four extreme points."""
    tag = el.tag.removeprefix(SVG)
    if tag == "ellipse":
        cx, cy, rx, ry = (float(el.get(k)) for k in ("cx", "cy", "rx", "ry"))
        return tag, [(cx - rx, cy), (cx + rx, cy), (cx, cy - ry), (cx, cy + ry)]
    if tag == "rect":
        x, y, w, h = (float(el.get(k)) for k in ("x", "y", "width", "height"))
        return tag, [(x, y), (x + w, y), (x + w, y + h), (x, y + h)]
    return tag, list(dict.fromkeys(_points(el.get("points"))))  # Graphviz repeats the first


@pytest.fixture(scope="module")
def graphviz_drawing(placed):
    """Graphviz's own outlines and arrowheads, moved into the layout's coordinates."""
    root = ET.fromstring(run_graphviz(positioned_dot(placed), "svg", engine="neato",
                                      args=["-n2"]))
    nodes, heads = {}, []
    for g in root.iter(SVG + "g"):
        title = g.findtext(SVG + "title") or ""
        if g.get("class") == "node" and title.startswith("n:"):
            shape = next(el for el in g if el.tag.removeprefix(SVG) in ("polygon", "ellipse"))
            nodes[title[2:]] = _outline(shape)[1]
        elif g.get("class") == "edge":
            heads.append(_points(g.find(SVG + "polygon").get("points"))[:3])
    # one translation takes Graphviz's canvas to the layout's: fit it on the centres of the
    # nodes that Graphviz draws inside their boxes (a folder's tab stands above its box)
    dx, dy = np.mean([np.subtract(_centre(placed.nodes[_key(k)].rect), _mid(_bbox(c)))
                      for k, c in nodes.items() if placed.nodes[_key(k)].shape != "folder"],
                     axis=0)
    move = lambda pts: [(x + dx, y + dy) for x, y in pts]  # noqa: E731
    return {k: move(c) for k, c in nodes.items()}, [move(h) for h in heads]


def _key(name: str):
    return int(name) if name.isdigit() else name


def _centre(rect):
    left, top, w, h = rect
    return left + w / 2, top + h / 2


def _mid(bbox):
    return (bbox[0] + bbox[2]) / 2, (bbox[1] + bbox[3]) / 2


def _close(a, b, tol=TOL) -> bool:
    return all(abs(x - y) <= tol for x, y in zip(a, b))


def _same_corners(ours, theirs) -> bool:
    """Every corner of each has a corner of the other within a pixel."""
    near = lambda p, qs: any(_close(p, q) for q in qs)  # noqa: E731
    return all(near(p, theirs) for p in ours) and all(near(q, ours) for q in theirs)


def _check(what, nodes: dict, heads: list, reference, shapes) -> None:
    ref_nodes, ref_heads = reference
    assert nodes.keys() == ref_nodes.keys(), what
    for key, corners in nodes.items():
        ref = ref_nodes[key]
        if shapes[key] != "ellipse":  # the same corners
            assert _same_corners(corners, ref), f"{what}: node {key} {corners} != {ref}"
        assert _close(_bbox(corners), _bbox(ref)), f"{what}: node {key} box {_bbox(corners)} != {_bbox(ref)}"
    assert len(heads) == len(ref_heads) >= 4, what
    for head in heads:
        assert any(_same_corners(head, ref) for ref in ref_heads), f"{what}: arrowhead {head}"


def _shapes(placed):
    return {str(k): b.shape for k, b in placed.nodes.items()}


def test_svg_matches_graphviz(placed, graphviz_drawing):
    root = ET.fromstring(to_svg_text(placed))
    nodes, heads = {}, []
    for g in root.iter(SVG + "g"):
        cls = (g.get("class") or "").split()
        if cls[:1] == ["node"]:
            nodes[g.findtext(SVG + "title")] = _outline(
                next(el for el in g if el.tag.removeprefix(SVG) != "title"))[1]
        elif cls == ["edge"]:
            heads.append(_points(g.find(SVG + "polygon").get("points")))
    _check("svg", nodes, heads, graphviz_drawing, _shapes(placed))


def test_qt_items_match_graphviz(qapp, placed, graphviz_drawing):
    items = {str(k): NodeItem(b, {}) for k, b in placed.nodes.items()}
    nodes = {}
    for k, item in items.items():
        polygon = item.shape().toFillPolygon()
        corners = [(p.x(), p.y()) for p in polygon]
        if placed.nodes[_key(k)].shape != "ellipse":
            corners = list(dict.fromkeys(corners))
        nodes[k] = corners
    bundle = EdgeBundle(placed.edges)
    (_, _, _, head_path), = bundle._build_near()
    heads = [[(p.x(), p.y()) for p in poly][:3] for poly in head_path.toSubpathPolygons()]
    _check("qt", nodes, heads, graphviz_drawing, _shapes(placed))

    scene = QGraphicsScene()  # a picture to look at: the items as the view paints them
    for item in [bundle, *items.values()]:
        scene.addItem(item)
    rect = QRectF(0, 0, placed.width, placed.height).adjusted(-4, -4, 4, 4)
    image = QImage(int(rect.width() * SCALE), int(rect.height() * SCALE), QImage.Format_RGB32)
    image.fill(QColor(placed.background))
    painter = QPainter(image)
    painter.setRenderHint(QPainter.Antialiasing)
    scene.render(painter, QRectF(image.rect()), rect)
    painter.end()
    assert image.save(str(out("renderers_qt.png")))


def _pixels(png: bytes) -> np.ndarray:
    image = Image.open(io.BytesIO(png)).convert("RGB")
    return np.asarray(image).astype(int)


def _extent(pixels, background, placed, offset=(0.0, 0.0)) -> dict:
    """Each node's drawn box in points, found in ``pixels``: scanning from outside its
    expected box towards its centre, the first pixel unlike the background, on a row through
    its centre and on a column 4 points beside it (edges enter at the centre; a folder's,
    through its tab)."""
    ox, oy = offset
    unlike = np.abs(pixels - np.array(background)).sum(axis=2) > 60
    boxes = {}
    for key, b in placed.nodes.items():
        left, top, w, h = b.rect
        cx, cy = b.x + ox, b.y + oy
        across = left + ox + w - 10 if b.shape == "folder" else cx + 4
        row, col = unlike[int(cy * SCALE)], unlike[:, int(across * SCALE)]
        lo_x, hi_x = max(int((left + ox - 3) * SCALE), 0), int((left + ox + w + 3) * SCALE)
        lo_y, hi_y = max(int((top + oy - 3) * SCALE), 0), int((top + oy + h + 3) * SCALE)
        xs = np.flatnonzero(row[lo_x:hi_x]) + lo_x
        ys = np.flatnonzero(col[lo_y:hi_y]) + lo_y
        boxes[str(key)] = (xs[0] / SCALE - ox, ys[0] / SCALE - oy, (xs[-1] + 1) / SCALE - ox,
                           (ys[-1] + 1) / SCALE - oy)
    return boxes


def _hex(colour: str) -> tuple[int, int, int]:
    return tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))


def test_pillow_png_matches_graphviz(placed, graphviz_drawing):
    png = raster(placed, "png", factor=SCALE)
    (out("renderers_pillow.png")).write_bytes(png)
    pixels = _pixels(png)
    ref_nodes, ref_heads = graphviz_drawing
    for key, box in _extent(pixels, _hex(placed.background), placed).items():
        assert _close(box, _bbox(ref_nodes[key]), TOL + 1 / SCALE), (key, box)  # + pen's pixel
    # each arrowhead: the pixels of the edge colour around where Graphviz drew it
    edge = np.all(pixels == _hex(placed.edges[0].color), axis=2)
    for head in ref_heads:
        x0, y0, x1, y1 = _bbox(head)
        window = edge[int((y0 - 2) * SCALE):int((y1 + 2) * SCALE),
                      int((x0 - 2) * SCALE):int((x1 + 2) * SCALE)]
        assert window.any()
        width = np.flatnonzero(window.any(axis=0))
        measured = ((width[0] + int((x0 - 2) * SCALE)) / SCALE,
                    (width[-1] + 1 + int((x0 - 2) * SCALE)) / SCALE)
        assert _close(measured, (x0, x1), TOL + 1 / SCALE), (head, measured)


def test_graphviz_png_and_pdf_match_its_drawing(placed, graphviz_drawing):
    png = render(placed, "png", dpi=72 * SCALE)
    (out("renderers_graphviz.png")).write_bytes(png)
    pixels = _pixels(png)
    ref_nodes, _ = graphviz_drawing
    # Graphviz pads the canvas: one translation, fitted on the centres of the nodes it draws
    # inside their boxes, takes the PNG's points to the layout's
    rough = _extent(pixels, _hex(placed.background), placed, offset=(PAD, PAD))
    inside = [k for k, b in placed.nodes.items() if b.shape != "folder"]
    dx, dy = np.mean([np.subtract(_mid(rough[str(k)]), _mid(_bbox(ref_nodes[str(k)])))
                      for k in inside], axis=0)
    found = _extent(pixels, _hex(placed.background), placed, offset=(PAD + dx, PAD + dy))
    for key, box in found.items():
        assert _close(box, _bbox(ref_nodes[key]), TOL + 1 / SCALE), (key, box)
    # the PDF is the same drawing on a page with Graphviz's half-inch margin for paper devices
    page = PdfReader(io.BytesIO(render(placed, "pdf"))).pages[0].mediabox
    height, width = pixels.shape[:2]
    assert _close((float(page.width) - 72, float(page.height) - 72),
                  (width / SCALE, height / SCALE), 1.0)

