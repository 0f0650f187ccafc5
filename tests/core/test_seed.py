"""The seed question: Z = linear(X, W.t(), B), S = Z.sum(); what is dS/dZ?"""

import torch
import pytest

import gradviz
from tests.core import seed


@pytest.fixture
def traced():
    X, W, B, Z, S = seed.forward()
    g = gradviz.trace(S)
    S.backward()
    return g, X, W, B, Z, S


def test_intermediate_gradient_by_name_tensor_and_grad_of(traced):
    g, X, W, B, Z, S = traced
    expected = torch.tensor(seed.DS_DZ)
    assert torch.equal(g.find("Z").grad, expected)
    assert torch.equal(g.node_for(Z).grad, expected)
    assert torch.equal(g.grad_of(Z), expected)
    with pytest.warns(UserWarning, match="not a leaf"):
        assert Z.grad is None  # gradviz does not change what PyTorch keeps


def test_leaf_gradients_match_pytorch(traced):
    g, X, W, B, Z, S = traced
    assert torch.allclose(g.find("X").grad, torch.tensor(seed.DS_DX))
    for name, leaf in (("X", X), ("W", W), ("B", B)):
        assert torch.equal(g.find(name).grad, leaf.grad)
        assert g.find(name).kind == "leaf"
        assert g.find(name).tensor is leaf


def test_kinds_names_and_forward_edges(traced):
    g, X, W, B, Z, S = traced
    assert g.node_for(S).kind == "output" and g.node_for(S).name == "S"
    assert g.node_for(Z).op == "AddmmBackward0" and g.node_for(Z).kind == "op"
    assert g.find("addmm") == g.node_for(Z)
    x, z, s = g.find("X").id, g.find("Z").id, g.find("S").id
    assert g.nx.has_edge(x, z) and g.nx.has_edge(z, s)  # data flows X -> Z -> S
    assert not g.nx.has_edge(z, x)
    assert g.node_for(Z).shape == (2, 2) and g.node_for(Z).dtype == "float32"


def test_backward_order_is_the_order_hooks_fired(traced):
    g, *_ = traced
    orders = sorted((n.order, n.id) for n in g.nodes)
    assert [o for o, _ in orders] == list(range(len(g)))
    assert g.find("S").order == 0 and g.find("S").order < g.find("Z").order < g.find("X").order


def test_find_unknown_name_is_a_clear_key_error(traced):
    g, *_ = traced
    with pytest.raises(KeyError, match="no node named 'nope'"):
        g.find("nope")
