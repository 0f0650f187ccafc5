"""gradviz never changes the user's numbers, leaves no hook behind and keeps nothing alive."""

import gc
import weakref

import pytest
import torch

import gradviz
from tests.core import seed


def train_step(use_gradviz):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(6, 16), torch.nn.GELU(), torch.nn.LayerNorm(16),
                                torch.nn.Linear(16, 3))
    x = torch.randn(8, 6)
    loss = torch.nn.functional.cross_entropy(model(x), torch.arange(8) % 3)
    if use_gradviz:
        g = gradviz.trace(loss)
    loss.backward()
    return [p.grad.clone() for p in model.parameters()], (g if use_gradviz else None)


def test_gradients_are_bitwise_identical_with_and_without_gradviz():
    plain, _ = train_step(False)
    traced, g = train_step(True)
    assert g.has_grads
    assert all(torch.equal(a, b) for a, b in zip(plain, traced))


def test_intermediate_grad_stays_none_and_every_hook_is_removed():
    X, W, B, Z, S = seed.forward()
    g = gradviz.trace(S)
    assert g.capture.armed
    S.backward(retain_graph=True)
    assert not g.capture.armed
    with pytest.warns(UserWarning, match="not a leaf"):
        assert Z.grad is None
    fired = list(g.capture.order)
    S.backward(torch.tensor(5.0))  # a hook left behind would fire again and overwrite
    assert g.capture.order == fired
    assert torch.equal(g.grad_of(Z), torch.ones(2, 2))
    assert not X._backward_hooks  # leaf tensor hooks are gone too


def test_a_hook_the_user_adds_to_a_traced_node_later_works_as_in_torch():
    X, W, B, Z, S = seed.forward()
    g = gradviz.trace(S)
    S.backward(retain_graph=True)
    seen = []
    handle = Z.grad_fn.register_prehook(lambda grads: seen.append(grads[0].clone()))
    S.backward(retain_graph=True)
    assert len(seen) == 1 and torch.equal(seen[0], torch.ones(2, 2))  # that node only
    handle.remove()
    S.backward()
    assert len(seen) == 1
    assert g.has_grads


def test_no_tensor_kept_alive_after_the_graph_is_dropped():
    X, W, B, Z, S = seed.forward()
    g = gradviz.trace(S)
    S.backward()
    grad = g.find("Z").grad
    refs = [weakref.ref(t) for t in (Z, S, grad)]
    del Z, S, grad, g
    gc.collect()
    assert [r() for r in refs] == [None, None, None]


def test_graph_dropped_before_backward_removes_its_hooks():
    x = torch.randn(3, requires_grad=True)
    y = (x * 2).sum()
    g = gradviz.trace(y)
    capture = g.capture
    del g
    gc.collect()
    assert not capture.armed
    y.backward()  # runs as if gradviz had never been there
    assert capture.order == []


@pytest.mark.parametrize("make, why", [
    (lambda: torch.ones(2, requires_grad=True), "is a leaf tensor"),
    (lambda: torch.ones(2) * 3, "does not require grad"),
    (lambda: _no_grad(), "does not require grad"),
    (lambda: (torch.ones(2, requires_grad=True) * 2).detach(), "does not require grad"),
    (lambda: _inference(), "inference_mode"),
])
def test_trace_of_a_tensor_without_graph_says_why(make, why):
    with pytest.raises(gradviz.TraceError, match=why):
        gradviz.trace(make())


def _no_grad():
    x = torch.ones(2, requires_grad=True)
    with torch.no_grad():
        return x * 2


def _inference():
    with torch.inference_mode():
        return torch.ones(2) * 2


def test_trace_of_a_non_tensor_is_a_clear_error():
    with pytest.raises(gradviz.TraceError, match="list, not a torch.Tensor|not a torch.Tensor"):
        gradviz.trace([torch.ones(1, requires_grad=True) * 2, [1, 2]])
    with pytest.raises(gradviz.TraceError, match="non-empty"):
        gradviz.trace([])


def test_trace_after_backward_keeps_structure_and_warns():
    X, W, B, Z, S = seed.forward()
    S.backward()
    with pytest.warns(gradviz.GradvizWarning, match="trace\\(\\) is called before backward"):
        g = gradviz.trace(S)
    assert g.find("Z").op == "AddmmBackward0" and len(g) == 7
    assert g.find("Z").grad is None and not g.capture.armed
