"""Runs of repeated blocks folded as one box: ``layers.0 … layers.5  ×6``."""

import xml.etree.ElementTree as ET

import pytest
import torch

import gradviz
from gradviz.core import collapse
from gradviz.core.collapse import default_collapsed, module_key, toggled, view
from gradviz.core.runs import Run, find_runs
from gradviz.layout import layout, scene_of
from tests.layout.test_collapse import folded_faithfully
from tests.recorded import traced

TITLE = "layers.0 … layers.5  ×6"


def encoder(layers: int = 6, change=None):
    """A library transformer, recorded. Its input needs a gradient, as a hidden state does:
    else layer 0's ops on the input alone are not in the autograd graph and it differs."""
    torch.manual_seed(0)
    layer = torch.nn.TransformerEncoderLayer(d_model=8, nhead=2, dim_feedforward=16,
                                             batch_first=True)
    model = torch.nn.TransformerEncoder(layer, num_layers=layers, enable_nested_tensor=False)
    if change is not None:
        change(model)
    return traced(model, torch.randn(2, 3, 8, requires_grad=True))


@pytest.fixture(scope="module")
def transformer():
    return encoder()


def test_a_transformer_encoder_opens_with_its_six_layers_as_one_box(transformer):
    run = Run("layers", 0, 5)
    assert default_collapsed(transformer) == {run}
    shown = folded_faithfully(transformer, {run})
    assert shown.runs == {run.key: run}
    box = scene_of(transformer, {run}).nodes[run.key]
    ops = sum(1 for m, k in zip(transformer.cols.module, transformer.cols.kind)
              if m and m.split(".")[:2] == ["layers", "0"] and k != "leaf")
    assert box.lines == [TITLE, f"{ops} ops each"]


def test_the_run_box_has_exactly_the_edges_of_its_layers(transformer):
    """Against a walk of the graph's own edges by module path: every edge that enters one of
    the six layers from outside enters the box, every edge that leaves one leaves it."""
    run = Run("layers", 0, 5)
    shown = view(transformer, {run})
    layers = [["layers", str(i)] for i in range(6)]
    inside = {n for n, m in enumerate(transformer.cols.module)
              if m and m.split(".")[:2] in layers}
    assert set(shown.members[run.key]) == inside
    entering = {(s, run.key) for s, d in transformer.nx.edges if d in inside and s not in inside}
    leaving = {(run.key, d) for s, d in transformer.nx.edges if s in inside and d not in inside}
    assert entering and leaving
    assert {e for e in shown.edges if e[1] == run.key} == entering
    assert {e for e in shown.edges if e[0] == run.key} == leaving


def test_unfolding_gives_the_blocks_each_folded_then_one_block_open(transformer):
    run = Run("layers", 0, 5)
    blocks = toggled({run}, run.key)
    assert blocks == {f"layers.{i}" for i in range(6)}
    shown = folded_faithfully(transformer, blocks)
    assert [k for k in shown.keys if isinstance(k, str)] == [
        module_key(f"layers.{i}") for i in reversed(range(6))]  # node id order: output first
    one_open = toggled(blocks, "layers.2")
    shown = folded_faithfully(transformer, one_open)
    assert sum(isinstance(k, str) for k in shown.keys) == 5
    assert all(shown.key_of[n] == n for n, m in enumerate(transformer.cols.module)
               if m and m.startswith("layers.2."))


def test_a_different_layer_in_the_middle_splits_the_run():
    def plain_third(model):  # no dropout after its attention: one multiply fewer
        model.layers[3].dropout1 = torch.nn.Identity()

    graph = encoder(7, plain_third)
    assert set(find_runs(graph, collapse.flow(graph))) == {Run("layers", 0, 2),
                                                           Run("layers", 4, 6)}
    folded_faithfully(graph, default_collapsed(graph))


def test_names_alone_make_no_run():
    """Same names, but a wider last block, or blocks side by side instead of one after the
    other: the graph says they are no run."""
    widths = [4, 4, 4, 4, 6]
    wider = torch.nn.Sequential(*[torch.nn.Sequential(torch.nn.Linear(4, w), torch.nn.ReLU())
                                  for w in widths[:-1]], torch.nn.Linear(4, 6))
    graph = traced(wider, torch.randn(2, 4, requires_grad=True))
    assert find_runs(graph, collapse.flow(graph)) == [Run("", 0, 3)]

    class Heads(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.heads = torch.nn.ModuleList([torch.nn.Linear(4, 4) for _ in range(4)])

        def forward(self, x):
            return sum(head(x) for head in self.heads)

    graph = traced(Heads(), torch.randn(2, 4, requires_grad=True))
    assert find_runs(graph, collapse.flow(graph)) == []


def test_blocks_joined_by_the_parents_ops_fold_with_them(residual):
    """``x = x + gelu(block(x))``: the adds and GELUs between the blocks go into the run's
    box (their input x needs no gradient, so block 0 differs from the rest)."""
    run = Run("blocks", 1, 9)
    assert find_runs(residual, collapse.flow(residual)) == [run]
    shown = folded_faithfully(residual, {run})
    taken = [n for n in shown.members[run.key] if not residual.cols.module[n]]
    assert len(taken) == 2 * 8  # an add and a GELU between each two of the nine blocks
    assert scene_of(residual, {run}).nodes[run.key].lines[2] == "incl. 16 parent ops"


def test_the_folded_export_shows_the_run(transformer, tmp_path):
    dot = gradviz.export(transformer, tmp_path / "x.dot").read_text()
    assert f'"r.layers.0..layers.5" [label="{TITLE}\\n' in dot
    svg = ET.parse(gradviz.export(transformer, tmp_path / "x.svg"))
    texts = ["".join(t.itertext()) for t in svg.iter("{http://www.w3.org/2000/svg}text")]
    assert TITLE in texts
    placed = layout(transformer, collapsed=default_collapsed(transformer))
    assert Run("layers", 0, 5).key in placed.nodes and len(placed.nodes) == 3
