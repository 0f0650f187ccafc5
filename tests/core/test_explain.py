"""gradviz.explain answers "why is .grad None?" for each reason PyTorch has."""

import torch

import gradviz
from tests.core import seed


def seed_graph():
    X, W, B, Z, S = seed.forward()
    return X, Z, S


def test_intermediate_tensor_explained_with_captured_gradient_and_fix():
    X, Z, S = seed_graph()
    g = gradviz.trace(S)
    S.backward()
    text = gradviz.explain(Z)
    assert "Z is not a leaf" in text and "AddmmBackward0" in text
    assert "captured" in text and "1., 1." in text
    assert "Z.retain_grad()" in text
    assert g.node_for(Z).explain().startswith("Z is not a leaf")


def test_intermediate_before_backward_and_untraced():
    X, Z, S = seed_graph()
    assert "call gradviz.trace(output) before backward()" in gradviz.explain(Z, name="Z")
    g = gradviz.trace(S)
    assert "will be captured by the next backward" in gradviz.explain(Z)
    del g


def test_requires_grad_false_and_detach():
    t = torch.ones(2) * 2
    assert "does not require grad" in gradviz.explain(t) and "requires_grad_()" in gradviz.explain(t)
    d = (torch.ones(2, requires_grad=True) * 2).detach()
    assert ".detach()" in gradviz.explain(d)


def test_not_on_the_path_to_the_traced_output():
    X, Z, S = seed_graph()
    other = X.exp()  # computed from X but not used for S
    g = gradviz.trace(S)
    S.backward()
    assert "not on the path to the traced output" in gradviz.explain(other, name="other")
    assert not g.contains(other)


def test_autograd_grad_does_not_fill_dot_grad():
    X, Z, S = seed_graph()
    g = gradviz.trace(S)
    torch.autograd.grad(S, [X])
    assert g.has_grads
    text = gradviz.explain(X)
    assert "torch.autograd.grad" in text and X.grad is None


def test_leaf_with_grad_is_explained_as_kept():
    X, Z, S = seed_graph()
    S.backward()
    assert "keeps its gradient in X.grad" in gradviz.explain(X, name="X")
