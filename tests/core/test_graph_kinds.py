"""A live trace and a loaded session: two kinds of GradGraph that read the same."""

import pytest
import torch

import gradviz
from tests.core import seed


@pytest.fixture
def both(tmp_path):
    X, W, B = seed.tensors()
    Z = torch.nn.functional.linear(X, W.t(), B)
    S = Z.sum()
    live = gradviz.trace(S)
    S.backward()
    loaded = gradviz.load(gradviz.save(live, tmp_path / "run.gradviz"))
    return live, loaded, Z


def test_both_kinds_are_gradgraphs_of_different_classes(both):
    live, loaded, _ = both
    assert isinstance(live, gradviz.GradGraph) and isinstance(loaded, gradviz.GradGraph)
    assert type(live) is not type(loaded)


def test_both_kinds_read_the_same_nodes_order_and_gradients(both):
    live, loaded, Z = both
    assert live.edges == loaded.edges and len(live) == len(loaded)
    assert live.capture.order == loaded.capture.order
    for a, b in zip(live, loaded):
        assert (a.kind, a.op, a.name, a.shape, a.dtype, a.order, a.saved) == \
               (b.kind, b.op, b.name, b.shape, b.dtype, b.order, b.saved)
        assert (a.grad is None) == (b.grad is None)
        if a.grad is not None:
            torch.testing.assert_close(a.grad, b.grad)
    (dz,) = torch.autograd.grad(Z.sum(), Z)
    torch.testing.assert_close(loaded.find("Z").grad, dz)


def test_a_loaded_capture_has_no_hooks_and_its_state_is_read_only(both):
    live, loaded, _ = both
    assert hasattr(live.capture, "arm") and not hasattr(loaded.capture, "arm")
    assert loaded.capture.ran
    with pytest.raises(AttributeError):
        loaded.capture.ran = False  # what the loader once did from outside
    assert loaded.node(0).tensor is None and loaded.index == {} and loaded.leaf_index == {}
