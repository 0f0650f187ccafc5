"""Every export format, written and read back with an independent reader."""

import json
import xml.etree.ElementTree as ET

import pytest
from PIL import Image
from pypdf import PdfReader

import gradviz
from gradviz.layout import layout
from gradviz.layout.decorate import decorations
from gradviz.layout.export import ExportError

OUT = __import__("pathlib").Path(__file__).parent.parent / "_out"
SVG = "{http://www.w3.org/2000/svg}"


def texts(root) -> list[str]:
    return [t.text for t in root.iter(f"{SVG}text")]


def test_svg_is_xml_with_every_label(seed, tmp_path):
    path = gradviz.export(seed, tmp_path / "g.svg", labels="full", title="The seed")
    root = ET.parse(path).getroot()
    words = texts(root)
    for word in ("S", "Sum", "Z", "Addmm", "X", "W", "B", "(2, 2) float32", "The seed"):
        assert word in words
    nodes = [g for g in root.iter(f"{SVG}g") if g.get("class", "").startswith("node ")]
    assert {g.get("class") for g in nodes} == {"node leaf", "node op", "node output"}
    assert len(nodes) == len(seed)


def test_png_decodes_at_the_size_asked_for(seed, tmp_path):
    placed = layout(seed)
    _, (x0, y0, x1, y1) = decorations(placed, None)
    for dpi, scale in ((96, 1.0), (192, 1.5)):
        path = gradviz.export(seed, tmp_path / f"g{dpi}.png", dpi=dpi, scale=scale)
        image = Image.open(path)
        image.load()
        factor = dpi / 72 * scale
        pad = 2 * 0.05 * 72 * factor  # Graphviz's pad around the drawing
        assert image.size == (pytest.approx((x1 - x0) * factor + pad, abs=3),
                              pytest.approx((y1 - y0) * factor + pad, abs=3))


def test_png_shows_kinds_in_their_colours_and_looks_right(seed):
    OUT.mkdir(exist_ok=True)
    path = gradviz.export(seed, OUT / "layout_seed_values.png", labels="values", dpi=144)
    image = Image.open(path).convert("RGB")
    placed = layout(seed, labels="values")
    factor, pad = 144 / 72, 0.05 * 144
    for name, fill in (("Z", (0xf2, 0xf2, 0xf2)), ("X", (0xcf, 0xe2, 0xf3)), ("S", (0xc6, 0xe5, 0xc0))):
        box = placed.nodes[seed.find(name).id]
        corner = (round(box.x * factor + pad + 6), round((box.y + box.height / 2 - 5) * factor + pad))
        assert image.getpixel(corner) == pytest.approx(fill, abs=2)


def test_pdf_has_one_page(seed, tmp_path):
    path = gradviz.export(seed, tmp_path / "g.pdf", theme="dark")
    assert path.read_bytes()[:5] == b"%PDF-"
    assert len(PdfReader(path).pages) == 1


def test_json_follows_the_design_schema_with_zs_gradient(seed, tmp_path):
    data = json.loads(gradviz.export(seed, tmp_path / "g.json").read_text())
    assert set(data) == {"nodes", "edges", "flows", "memory"}  # edges keep their form; flows: one per edge
    keys = {"id", "kind", "op", "name", "shape", "dtype", "module", "source", "order", "value", "grad",
            "saved_bytes"}
    assert all(set(n) == keys for n in data["nodes"])
    z = next(n for n in data["nodes"] if n["name"] == "Z")
    assert z["grad"]["data"] == [[1.0, 1.0], [1.0, 1.0]]
    assert set(z["grad"]["stats"]) >= {"min", "max", "mean", "std", "norm", "nan", "inf"}
    ids = {n["id"] for n in data["nodes"]}
    assert all(len(e) == 2 and set(e) <= ids for e in data["edges"])


def test_jupyter_shows_a_graph_inline_as_svg(seed):
    root = ET.fromstring(seed._repr_svg_())
    assert root.tag == f"{SVG}svg" and "Z" in texts(root)


def test_grad_norm_colouring_has_a_legend_and_red_for_nan(tmp_path):
    import torch

    x = torch.tensor([1.0, -1.0], requires_grad=True)
    y = x.sqrt()  # NaN gradient at -1
    s = y.sum()
    graph = gradviz.trace(s)
    s.backward()
    placed = layout(graph, color_by="grad_norm")
    assert placed.nodes[graph.find("x").id].fill == "#e0301e"  # d sqrt(x)/dx at -1
    assert placed.nodes[graph.find("y").id].fill != "#e0301e"
    assert any("NaN" in text for _, text in placed.legend)
    root = ET.parse(gradviz.export(graph, tmp_path / "g.svg", color_by="grad_norm")).getroot()
    assert "NaN / Inf" in texts(root)


@pytest.mark.parametrize("name, words", [("g.txt", "suffix"), ("missing/g.svg", "does not exist")])
def test_bad_paths_are_one_clear_error(seed, tmp_path, name, words):
    with pytest.raises(ExportError, match=words):
        gradviz.export(seed, tmp_path / name)
