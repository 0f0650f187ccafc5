"""Names no one would choose but a model can have: an ``nn.ModuleDict`` key may end in a
backslash or hold quotes and control characters. Every writer still makes a valid file."""

import json
import subprocess
import xml.etree.ElementTree as ET

import pytest
import torch
from PIL import Image

import gradviz
from gradviz.core.collapse import module_key
from gradviz.layout import layout
from gradviz.layout.dotsource import cluster_path
from gradviz.layout.export import file_bytes

TAIL = "tail\\"  # a key ending in a backslash: it escaped DOT's closing quote
ODD = 'q"\x01\x1b\\n'  # a quote, two control characters (not allowed in XML), a literal \n


class Odd(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.blocks = torch.nn.ModuleDict({TAIL: torch.nn.Linear(3, 3),
                                           ODD: torch.nn.Linear(3, 3)})

    def forward(self, x):
        for block in self.blocks.values():
            x = block(x).tanh()
        return x


@pytest.fixture
def odd():
    torch.manual_seed(0)
    with gradviz.record():
        S = Odd()(torch.randn(2, 3)).sum()
    g = gradviz.trace(S)
    S.backward()
    g.nodes[0].graph.cols.name[0] = "\x07bell"  # and a name with a control character
    return g


PATHS = {f"blocks.{TAIL}", f"blocks.{ODD}"}


def test_dot_export_is_read_by_graphviz_with_every_module_path(odd):
    text = file_bytes(odd, "dot", collapsed=())
    out = subprocess.run(["dot", "-Tjson"], input=text, capture_output=True, timeout=60)
    assert out.returncode == 0, out.stderr.decode()
    clusters = {cluster_path(o["name"]) for o in json.loads(out.stdout, strict=False)["objects"]
                if o["name"].startswith("cluster:")}
    assert clusters == PATHS


def test_collapsed_modules_with_odd_paths_are_laid_out_by_dot(odd):
    placed = layout(odd, collapsed={f"blocks.{TAIL}", f"blocks.{ODD}"})
    assert placed.engine == "dot" and not placed.warnings
    assert {module_key(f"blocks.{TAIL}"), module_key(f"blocks.{ODD}")} <= set(placed.nodes)


def test_svg_with_control_characters_is_xml(odd):
    root = ET.fromstring(file_bytes(odd, "svg", collapsed=(), labels="full"))
    words = [t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert "\ufffdbell" in words
    assert 'blocks.q"\ufffd\ufffd\\n' in words  # the cluster label, as XML can hold it


def test_png_of_odd_names_renders(odd, tmp_path):
    path = gradviz.export(odd, tmp_path / "odd.png", collapsed={f"blocks.{TAIL}", f"blocks.{ODD}"})
    with Image.open(path) as image:
        assert image.size[0] > 50 and image.size[1] > 50
