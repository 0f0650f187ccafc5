"""The walk: exactly one node per autograd Node, compared with an independent walk."""

import sys

import torch

import gradviz


def independent_walk(*roots):
    """Recursive set-based walk over next_functions: autograd Nodes and forward edges."""
    seen, edges = set(), set()

    def visit(fn):
        if fn in seen:
            return
        seen.add(fn)
        for nxt, _ in fn.next_functions:
            if nxt is not None:
                edges.add((nxt, fn))
                visit(nxt)

    for r in roots:
        visit(r.grad_fn)
    return seen, edges


def assert_same_as_independent(g, *roots):
    nodes, edges = independent_walk(*roots)
    assert len(g) == len(nodes)
    assert set(g.index) == nodes
    ids = {fn: g.index[fn] for fn in nodes}
    assert set(g.nx.edges) == {(ids[a], ids[b]) for a, b in edges}
    leaves = {n.id for n in g.nodes if n.kind == "leaf"}
    assert leaves == {ids[fn] for fn in nodes if type(fn).__name__ == "AccumulateGrad"}


def test_shared_subgraph_is_visited_once():
    x = torch.randn(3, requires_grad=True)
    h = (x * 2).exp()
    y = (h + h.sin() + h.cos()).sum()
    g = gradviz.trace(y)
    assert_same_as_independent(g, y)
    assert sum(1 for n in g.nodes if n.op == "ExpBackward0") == 1


def test_mlp_node_count_matches_independent_walk_and_names_parameters():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))
    loss = model(torch.randn(5, 4)).pow(2).mean()
    g = gradviz.trace(loss)
    assert_same_as_independent(g, loss)
    assert g.find("0.weight").tensor is model[0].weight
    assert g.find("2.bias").kind == "leaf"
    assert g.find("2.bias").module == "2"


def test_deep_graph_has_no_recursion_limit():
    x = torch.randn(2, requires_grad=True)
    y = x
    for _ in range(sys.getrecursionlimit() * 2):
        y = y * 1.0001
    g = gradviz.trace(y.sum())
    assert len(g) == sys.getrecursionlimit() * 2 + 2


def test_ids_are_stable_for_the_same_structure():
    def build():
        x = torch.randn(3, requires_grad=True)
        return ((x * 2).relu() + x).sum()

    a, b = gradviz.trace(build()), gradviz.trace(build())
    assert a.cols.op == b.cols.op and a.edges == b.edges


def test_several_outputs_make_one_graph():
    x = torch.randn(3, requires_grad=True)
    h = x.exp()
    y1, y2 = h.sum(), (h * 3).mean()
    g = gradviz.trace([y1, y2])
    assert_same_as_independent(g, y1, y2)
    assert {n.name for n in g.outputs} == {"y1", "y2"}
    torch.autograd.backward([y1, y2])
    expected_h = torch.autograd.grad([(x.exp()).sum() + (x.exp() * 3).mean()], [x])[0] / x.exp()
    assert torch.allclose(g.find("h").grad, expected_h)
