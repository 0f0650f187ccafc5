"""The memory colouring: fills, folded totals and legend, against bytes the test counts itself
with ``saved_tensors_hooks`` (what each op saved, each storage once)."""

import math

import pytest
import torch
import torch.utils.checkpoint as checkpoint
from torch import nn

import gradviz
from gradviz.core.budget import format_bytes
from gradviz.core.errors import GradvizWarning
from gradviz.core.keys import module_key
from gradviz.core.viewmodel import Colouring, ViewModel
from gradviz.layout import layout, restyle
from gradviz.layout.export import file_bytes
from gradviz.layout.memory_fill import MEMORY_RAMP, PARAMETERS, UNKNOWN
from gradviz.layout.style import ramp, theme


def saved_storages(fn, *args) -> tuple:
    """``fn(*args)`` and {storage pointer: bytes} of what its op saved, seen by a pack hook."""
    seen = {}

    def pack(t):
        s = t.untyped_storage()
        seen[s.data_ptr()] = s.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = fn(*args)
    return out, seen


def program(x, w):
    """Each op on its own line: (name, fn, input names)."""
    return [("mm", torch.mm, ("x", "w")),  # saves x and w: leaves, alive anyway
            ("tanh", torch.tanh, ("mm",)),  # saves its result, 8 KiB
            ("cut", lambda t: t[:, :4].exp(), ("tanh",)),  # exp of a slice: saves a tiny result
            ("wide", lambda t: t.repeat(1, 64).sigmoid(), ("cut",)),  # saves its result, 8 KiB
            ("sq", lambda a, b: (a * b), ("wide", "tanh")),  # saves both: shared storages
            ("total", torch.sum, ("sq",))]  # saves nothing


def test_fills_and_legend_follow_bytes_counted_independently():
    torch.manual_seed(0)
    x = torch.randn(8, 16, requires_grad=True)
    w = torch.randn(16, 256, requires_grad=True)
    leaves = {x.untyped_storage().data_ptr(), w.untyped_storage().data_ptr()}
    # first run: what each op saves, by pack hooks
    values, expected = {"x": x, "w": w}, {}
    for name, fn, inputs in program(x, w):
        values[name], seen = saved_storages(fn, *(values[i] for i in inputs))
        expected[name] = {
            "activation": sum(n for p, n in seen.items() if p not in leaves),
            "parameter": sum(n for p, n in seen.items() if p in leaves)}
    # second run, the same program, recorded and traced
    values = {"x": x, "w": w}
    with gradviz.record():
        for name, fn, inputs in program(x, w):
            values[name] = fn(*(values[i] for i in inputs))
    g = gradviz.trace(values["total"])
    placed = layout(g, color_by="memory")
    th = theme("light")
    fills = {name: placed.nodes[g.node_for(values[name]).id].fill for name in expected}

    acts = {n: e["activation"] for n, e in expected.items() if e["activation"]}
    lo, hi = math.log10(min(acts.values())), math.log10(max(acts.values()))
    for name, n in acts.items():
        assert fills[name] == ramp((math.log10(n) - lo) / (hi - lo), MEMORY_RAMP), name
    assert fills[max(acts, key=acts.get)] == MEMORY_RAMP[-1]
    assert fills["mm"] == PARAMETERS and expected["mm"]["parameter"] == (8 * 16 + 16 * 256) * 4
    assert expected["total"] == {"activation": 0, "parameter": 0}
    assert fills["total"] == th.muted
    assert placed.nodes[g.node_for(x).id].fill == th.muted  # a leaf saves nothing
    texts = [text for _, text in placed.legend]
    assert texts[0] == format_bytes(min(acts.values()))
    assert texts[4] == format_bytes(max(acts.values()))
    assert texts[5:] == ["only parameters / inputs", "unknown size", "saves nothing"]


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.block = nn.Sequential(nn.Linear(16, 64), nn.Tanh(), nn.Linear(64, 64), nn.GELU())
        self.head = nn.Linear(64, 1)

    def forward(self, x):
        return self.head(self.block(x)).pow(2).sum()


def test_a_folded_module_says_its_total_and_a_new_label_places_again(tmp_path):
    torch.manual_seed(0)
    net = Net()
    x = torch.randn(4, 16)
    _, seen = saved_storages(net.block, x)  # the block's ops, each storage once
    with gradviz.record():
        loss = net(x)
    g = gradviz.trace(loss)
    model = ViewModel(g, {"block"})
    plain = layout(model)
    key = module_key("block")
    assert plain.nodes[key].lines[0] == "block"
    coloured = restyle(plain, model.changed(colouring=Colouring.MEMORY))
    total = sum(seen.values())
    assert coloured.nodes[key].lines[0] == f"block — {format_bytes(total)}"
    # the longer label got a box of its own: placed again, not squeezed into the old one
    assert coloured.nodes[key].width > plain.nodes[key].width
    svg = file_bytes(model.changed(colouring=Colouring.MEMORY), "svg").decode()
    assert f"block — {format_bytes(total)}" in svg
    (tmp_path / "memory.svg").write_text(svg)


def test_checkpointed_ops_are_drawn_as_unknown_size():
    torch.manual_seed(0)
    net = Net()
    x = torch.randn(4, 16, requires_grad=True)
    with gradviz.record():
        loss = net.head(checkpoint.checkpoint(net.block, x, use_reentrant=False)).sum()
    g = gradviz.trace(loss)
    placed = layout(g, color_by="memory")
    unknown = [n for n in range(len(g)) if g.memory.unknown[n] and not g.memory.held[n]]
    assert unknown
    assert {placed.nodes[n].fill for n in unknown} == {UNKNOWN}


def test_an_unmeasured_graph_says_so_in_the_legend():
    x = torch.randn(3, requires_grad=True)
    loss = x.exp().sum()
    loss.backward()
    with pytest.warns(GradvizWarning, match="backward already ran"):
        g = gradviz.trace(loss)  # after backward released what it saved: not measurable
    assert g.saved_bytes is None
    placed = layout(g, color_by="memory")
    assert [text for _, text in placed.legend] == [
        "not measured: run the forward inside gradviz.record()"]
