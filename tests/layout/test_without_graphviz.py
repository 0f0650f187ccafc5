"""Graphviz missing: a message naming what to install, the layered layout, and every export."""

import xml.etree.ElementTree as ET

import pytest
from PIL import Image
from pypdf import PdfReader

import gradviz
from gradviz.layout import cache, graphviz_run, layout

OUT = __import__("pathlib").Path(__file__).parent.parent / "_out"


@pytest.fixture
def no_graphviz(monkeypatch):
    monkeypatch.setattr(graphviz_run.shutil, "which", lambda name: None)
    cache._store.clear()
    yield
    cache._store.clear()


def test_the_layout_says_what_to_install_and_still_places_every_node(seed, no_graphviz):
    placed = layout(seed, labels="full")
    assert placed.engine == "layered"
    (warning,) = placed.warnings
    for hint in ("apt-get install graphviz", "brew install graphviz", "conda install graphviz"):
        assert hint in warning
    assert set(placed.nodes) == set(range(len(seed)))
    for e in placed.edges:  # data flows downward
        assert placed.nodes[e.src].y < placed.nodes[e.dst].y


def test_every_format_is_still_written(seed, no_graphviz, tmp_path):
    OUT.mkdir(exist_ok=True)
    with pytest.warns(gradviz.GradvizWarning, match="apt-get install graphviz"):
        svg = ET.parse(gradviz.export(seed, tmp_path / "g.svg")).getroot()
    assert "Z" in [t.text for t in svg.iter("{http://www.w3.org/2000/svg}text")]
    png = Image.open(gradviz.export(seed, OUT / "layout_seed_without_graphviz.png", labels="values"))
    assert png.size[0] > 200 and png.size[1] > 200
    assert len(PdfReader(gradviz.export(seed, tmp_path / "g.pdf")).pages) == 1
    assert b"digraph" in gradviz.export(seed, tmp_path / "g.dot").read_bytes()
