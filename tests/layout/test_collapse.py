"""The collapse model: which keys are visible for a set of folded modules."""

import torch

import gradviz
from gradviz.core import collapse
from gradviz.core.collapse import default_collapsed, module_key, module_paths, view


def test_a_node_belongs_to_its_outermost_folded_module(mlp):
    shown = view(mlp, {"0", "0.fc"})
    for nid, module in enumerate(mlp.cols.module):
        if module and (module == "0" or module.startswith("0.")):
            assert shown.key_of[nid] == module_key("0")
        else:
            assert shown.key_of[nid] == nid
    assert len(shown.members[module_key("0")]) == 5


def test_edges_between_keys_are_distinct_and_never_loops(mlp):
    shown = view(mlp, {"0", "1"})
    assert len(set(shown.edges)) == len(shown.edges)
    assert all(a != b for a, b in shown.edges)
    assert (module_key("0"), module_key("1")) in shown.edges


def test_module_paths_include_ancestors(mlp):
    assert module_paths(mlp) == ["0", "0.act", "0.fc", "1", "1.act", "1.fc", "2"]


def test_default_collapsed_leaves_small_graphs_alone(mlp):
    assert default_collapsed(mlp) == frozenset()


def test_default_collapsed_picks_the_most_detailed_readable_level(monkeypatch):
    blocks = torch.nn.Sequential(*[torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.Tanh())
                                   for _ in range(30)])
    with gradviz.record():
        loss = blocks(torch.randn(2, 4)).sum()
    graph = gradviz.trace(loss)
    monkeypatch.setattr(collapse, "EXPAND_BELOW", 10)
    # 30 blocks of 6 nodes: their layers (60 boxes) fit in 80, the blocks (30) in 40
    assert default_collapsed(graph, readable=80) == {f"{i}.{j}" for i in range(30) for j in (0, 1)}
    assert default_collapsed(graph, readable=40) == {str(i) for i in range(30)}
    assert len(view(graph, default_collapsed(graph, readable=40)).keys) <= 40


def test_an_unrecorded_graph_has_nothing_to_fold():
    x = torch.ones(3, requires_grad=True)
    y = x
    for _ in range(700):
        y = y * 1.0
    graph = gradviz.trace(y.sum())
    assert default_collapsed(graph) == frozenset()


def test_default_collapsed_never_folds_a_module_that_is_not_contiguous(interrupted, monkeypatch):
    monkeypatch.setattr(collapse, "EXPAND_BELOW", 10)
    # folding "layers" would show 22 nodes, but in a cycle: the 20 layers (41 nodes) it is
    assert default_collapsed(interrupted, readable=30) == {f"layers.{i}" for i in range(20)}
