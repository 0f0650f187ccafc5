"""The collapse model: which keys are visible for a set of folded modules."""

import networkx as nx
import torch

import gradviz
from gradviz.core import collapse
from gradviz.core.collapse import default_collapsed, module_key, module_paths, view
from gradviz.core.runs import Run
from gradviz.layout import scene_of


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
    # Tanh and ReLU alternate, so no run of identical blocks folds (see test_runs.py)
    blocks = torch.nn.Sequential(*[torch.nn.Sequential(
        torch.nn.Linear(4, 4), torch.nn.Tanh() if i % 2 else torch.nn.ReLU()) for i in range(30)])
    with gradviz.record():
        loss = blocks(torch.randn(2, 4)).sum()
    graph = gradviz.trace(loss)
    monkeypatch.setattr(collapse, "EXPAND_BELOW", 10)
    monkeypatch.setattr(collapse, "FOLD_RUNS_ABOVE", 10)
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


def folded_faithfully(graph, collapsed):
    """Checks a folded view against the graph, apart from how the view was computed: every
    node is drawn exactly once, each edge between two keys stands for a graph edge and every
    graph edge between two keys is drawn, and the picture has no cycle."""
    shown = view(graph, collapsed)
    assert len(shown.key_of) == len(graph)
    for key, nids in shown.members.items():
        assert all(shown.key_of[n] == key for n in nids)
    assert sum(map(len, shown.members.values())) + sum(
        1 for k in shown.keys if isinstance(k, int)) == len(graph)
    expected = {(shown.key_of[s], shown.key_of[d]) for s, d, _ in graph.edges}
    assert set(shown.edges) == {(a, b) for a, b in expected if a != b}
    assert nx.is_directed_acyclic_graph(nx.DiGraph(shown.edges))
    return shown


def test_a_container_interrupted_by_the_parents_relus_folds_taking_them_in(interrupted,
                                                                            monkeypatch):
    monkeypatch.setattr(collapse, "EXPAND_BELOW", 10)
    monkeypatch.setattr(collapse, "FOLD_RUNS_ABOVE", 10)
    modules = list(interrupted.cols.module)
    # layers 1-19 are one run (layer 0 differs: its input needs no gradient, see test_runs.py)
    assert default_collapsed(interrupted, readable=30) == {"layers.0", Run("layers", 1, 19)}
    shown = folded_faithfully(interrupted, {"layers"})
    relus = [n for n in range(len(interrupted)) if interrupted.cols.op[n] == "ReluBackward0"]
    inside = [n for n in relus if shown.key_of[n] == module_key("layers")]
    assert len(relus) == 20 and len(inside) == 19  # the last one follows the last layer
    assert len(shown.keys) == 3  # the sum, the last relu, the layers
    assert list(interrupted.cols.module) == modules  # nodes keep their own module
    box = scene_of(interrupted, {"layers"}).nodes[module_key("layers")]
    assert box.lines == ["layers", "59 ops", "incl. 19 parent ops"]  # 20 x (Addmm, T), relus


def test_residual_adds_and_activations_of_the_parent_fold_into_the_container(residual,
                                                                             monkeypatch):
    monkeypatch.setattr(collapse, "EXPAND_BELOW", 10)
    monkeypatch.setattr(collapse, "FOLD_RUNS_ABOVE", 10)
    fold = default_collapsed(residual, readable=10)
    assert fold == {"blocks", "head"}
    shown = folded_faithfully(residual, fold)
    taken = [n for n in shown.members[module_key("blocks")] if not residual.cols.module[n]]
    ops = {residual.cols.op[n] for n in taken}
    assert ops == {"AddBackward0", "GeluBackward0"}


def test_a_module_interleaved_with_a_sibling_is_never_folded(alternating, monkeypatch):
    monkeypatch.setattr(collapse, "EXPAND_BELOW", 10)
    monkeypatch.setattr(collapse, "FOLD_RUNS_ABOVE", 10)
    flow = collapse.flow(alternating)
    assert flow.glue("a") is None and flow.glue("b") is None  # b's work lies between a's
    fold = default_collapsed(alternating, readable=30)
    assert fold == {f"{m}.{i}" for m in "ab" for i in range(10)}
    folded_faithfully(alternating, fold)


def test_two_modules_sharing_their_glue_are_not_folded_together(shared_glue, monkeypatch):
    monkeypatch.setattr(collapse, "EXPAND_BELOW", 5)
    monkeypatch.setattr(collapse, "FOLD_RUNS_ABOVE", 5)
    flow = collapse.flow(shared_glue)
    assert flow.glue("p") == flow.glue("q") and len(flow.glue("p")) == 1  # the root's add
    folded_faithfully(shared_glue, {"p"})
    folded_faithfully(shared_glue, {"q"})
    assert default_collapsed(shared_glue, readable=100) == frozenset()


def test_within_means_the_module_or_a_submodule_not_a_name_that_starts_alike():
    from gradviz.core.contiguous import within

    assert within("layers.1", "layers.1") and within("layers.1.fc", "layers.1")
    assert not within("layers.10", "layers.1") and not within(None, "layers.1")
    assert not within("", "layers")
