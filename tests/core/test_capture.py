"""Gradients captured for every kind of op, checked against torch.autograd.grad."""

import pytest
import torch
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint

import gradviz


def reference(output, tensors, grad_output=None):
    """Gradients of ``output`` w.r.t. ``tensors``, computed by torch alone."""
    return torch.autograd.grad(output, tensors, grad_output, retain_graph=True, allow_unused=True)


def test_tensor_used_twice_accumulates():
    X = torch.randn(2, 2, requires_grad=True)
    Z = X * 1.5
    Y = 2 * Z + Z
    S = Y.sum()
    g = gradviz.trace(S)
    S.backward()
    assert torch.equal(g.grad_of(Z), torch.full((2, 2), 3.0))


@pytest.mark.parametrize("make", [
    lambda x: x.split(2),
    lambda x: x.unbind(0),
    lambda x: x.max(dim=1),
    lambda x: torch.chunk(x, 3, dim=1),
])
def test_multi_output_ops_keep_one_gradient_per_output(make):
    torch.manual_seed(1)
    x = torch.randn(4, 3, requires_grad=True)
    outs = make(x * 1.0)
    outs = [o for o in outs if o.requires_grad]
    weights = [torch.randn(o.shape) for o in outs]
    loss = sum((o * w).sum() for o, w in zip(outs, weights))
    expected = reference(loss, outs)
    g = gradviz.trace(loss)
    loss.backward()
    node = g.node_for(outs[0])
    assert all(g.node_for(o) == node for o in outs)  # one node, several outputs
    for o, e in zip(outs, expected):
        assert torch.equal(g.grad_of(o), e)


def test_views_and_inplace_ops():
    torch.manual_seed(2)
    a = torch.randn(4, 4, requires_grad=True)
    b = a * 2
    v = b[1:3]  # a view
    v.mul_(3)  # in-place through the view: autograd rewrites b's history (CopySlices)
    c = b.t().relu_()
    loss = (c * torch.arange(16.0).view(4, 4)).sum()
    expected_c, expected_a = reference(loss, [c, a])
    g = gradviz.trace(loss)
    loss.backward()
    assert torch.equal(g.grad_of(c), expected_c)
    assert torch.equal(a.grad, expected_a)
    assert "CopySlices" in g.cols.op


class Cube(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return 3 * x ** 2 * grad


def test_custom_function_is_one_node_with_its_gradient():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    h = x * 2
    y = Cube.apply(h)
    loss = (y * torch.tensor([1.0, -1.0])).sum()
    expected_y, expected_h = reference(loss, [y, h])
    g = gradviz.trace(loss)
    loss.backward()
    assert g.node_for(y).op == "CubeBackward"
    assert torch.equal(g.grad_of(y), expected_y) and torch.equal(g.grad_of(h), expected_h)


@pytest.mark.parametrize("reentrant", [False, True])
def test_checkpoint(reentrant):
    torch.manual_seed(3)
    lin = torch.nn.Linear(3, 3)
    x0 = torch.randn(2, 3)

    def forward(use_checkpoint):
        x = x0.clone().requires_grad_()
        h = x * 2
        block = lambda t: lin(t).tanh()  # noqa: E731
        y = checkpoint(block, h, use_reentrant=reentrant) if use_checkpoint else block(h)
        return x, h, y, y.pow(2).sum()

    x, h, y, loss = forward(False)  # reference: the same computation without checkpoint
    expected = reference(loss, [h, y, x, lin.weight])
    x, h, y, loss = forward(True)
    g = gradviz.trace(loss)
    loss.backward()
    assert torch.allclose(g.grad_of(h), expected[0]) and torch.allclose(g.grad_of(y), expected[1])
    assert torch.allclose(x.grad, expected[2]) and torch.allclose(lin.weight.grad, expected[3])
    assert not g.capture.armed


class SmallCNN(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 4, 3, padding=1)
        self.bn = torch.nn.BatchNorm2d(4)
        self.head = torch.nn.Linear(4, 2)

    def forward(self, x):
        h = F.relu(self.bn(self.conv(x)))
        return self.head(F.adaptive_avg_pool2d(h, 1).flatten(1))


def module_outputs(model, x):
    """Each submodule's output, caught by forward hooks (independent of gradviz)."""
    outs = {}
    handles = [m.register_forward_hook(lambda m, i, o, n=n: outs.__setitem__(n, o))
               for n, m in model.named_children()]
    try:
        y = model(x)
    finally:
        for h in handles:
            h.remove()
    return y, outs


def test_cnn_with_batchnorm_module_outputs_match_autograd():
    torch.manual_seed(4)
    model = SmallCNN()
    x = torch.randn(3, 1, 5, 5)
    with gradviz.record():
        y, outs = module_outputs(model, x)
        loss = F.cross_entropy(y, torch.tensor([0, 1, 1]))
    expected = reference(loss, list(outs.values()))
    g = gradviz.trace(loss)  # module outputs are not named variables: whole within the budget
    loss.backward()
    for (name, out), e in zip(outs.items(), expected):
        assert torch.allclose(g.grad_of(out), e), name
        assert g.node_for(out).module == name
    assert g.find("bn.weight").module == "bn"


def test_attention_with_softmax_and_causal_mask():
    torch.manual_seed(5)
    q, k, v = (torch.randn(1, 4, 8, requires_grad=True) for _ in range(3))
    scores = q @ k.transpose(-1, -2) / 8 ** 0.5
    mask = torch.triu(torch.ones(4, 4, dtype=torch.bool), diagonal=1)
    scores = scores.masked_fill(mask, float("-inf"))
    attn = scores.softmax(-1)
    out = attn @ v
    loss = out.pow(2).sum()
    expected = reference(loss, [attn, scores, q])
    g = gradviz.trace(loss)
    loss.backward()
    assert torch.equal(g.grad_of(attn), expected[0])
    assert torch.equal(g.grad_of(scores), expected[1])
    assert torch.equal(q.grad, expected[2])
    assert g.node_for(attn).op == "SoftmaxBackward0"


def test_autograd_grad_is_captured_too():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    h = x.exp()
    y = h.sum()
    g = gradviz.trace(y)
    (gx,) = torch.autograd.grad(y, [x])
    assert torch.equal(g.grad_of(h), torch.ones(2)) and torch.equal(gx, x.exp())
    assert torch.equal(g.node_for(x).grad, gx)
    assert x.grad is None


def test_autograd_grad_stopping_at_an_intermediate_needs_inputs():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    h = x.exp()
    y = (h * 3).sum()
    g = gradviz.trace(y, inputs=[h])
    (gh,) = torch.autograd.grad(y, [h])
    assert torch.equal(g.grad_of(h), gh) and g.node_for(h).order is not None
    assert g.node_for(x).order is None  # autograd stopped at h


def test_double_backward():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    h = x ** 3
    y = h.sum()
    g = gradviz.trace(y)
    (gx,) = torch.autograd.grad(y, [x], create_graph=True)
    assert torch.equal(g.grad_of(h), torch.ones(2))
    assert not g.grad_of(h).requires_grad  # captured values, not a second graph
    (ggx,) = torch.autograd.grad(gx.sum(), [x])
    assert torch.equal(gx.detach(), 3 * x.detach() ** 2) and torch.equal(ggx, 6 * x.detach())


def test_retain_graph_second_pass_is_captured_by_tracing_again():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    h = x * 2
    y = h.sum()
    first = gradviz.trace(y)
    y.backward(retain_graph=True)
    second = gradviz.trace(y)
    y.backward(torch.tensor(3.0))
    assert torch.equal(first.grad_of(h), torch.ones(2))
    assert torch.equal(second.grad_of(h), torch.full((2,), 3.0))
    assert not first.capture.armed and not second.capture.armed


def test_partial_backward_leaves_unreached_nodes_without_order():
    a = torch.tensor([1.0], requires_grad=True)
    b = torch.tensor([2.0], requires_grad=True)
    y = (a.exp() + b.sin()).sum()
    g = gradviz.trace(y)
    torch.autograd.grad(y, [a])
    assert g.node_for(b).order is None and g.node_for(b).grad is None
    assert g.node_for(a).order is not None
    assert not g.capture.armed


def test_every_sketched_gradient_of_a_transformer_block_has_its_own_norm():
    # Sketches share work between gradients in the same memory (a view op's, a weight's
    # twice): every node's norm must still be that of its own gradient, kept whole here in
    # an identical second pass.
    torch.manual_seed(9)
    block = torch.nn.TransformerEncoderLayer(32, 4, 64, dropout=0.0, batch_first=True)
    x = torch.randn(2, 8, 32)
    mask = torch.nn.Transformer.generate_square_subsequent_mask(8)

    def captured(cap):
        loss = block(x, src_mask=mask, is_causal=True).pow(2).mean()
        g = gradviz.trace(loss, cap=cap)
        loss.backward()
        block.zero_grad(set_to_none=True)
        return g

    sketched, whole = captured(64), captured(10**9)
    assert [n.op for n in sketched.nodes] == [n.op for n in whole.nodes]
    compared = 0
    for s, w in zip(sketched.nodes, whole.nodes):
        for snap, grad in zip(s.grad_snapshots, w.grads):
            if grad is None or grad.numel() <= 64:
                continue
            assert snap.data is None  # a sketch, not the data
            expected = torch.linalg.vector_norm(grad.double()).item()
            assert snap.stats["norm"] == pytest.approx(expected, rel=1e-5), s.op
            compared += 1
    assert compared > 30


@pytest.mark.parametrize("rows", [4, 40])  # a gradient under the cap, and one sketched
def test_sparse_gradients_of_an_embedding_are_captured_without_touching_grad(rows):
    def run(traced):
        torch.manual_seed(2)
        emb = torch.nn.Embedding(rows, 8, sparse=True)
        loss = emb(torch.tensor([1, 2, 2, 3])).pow(2).sum()
        g = gradviz.trace(loss, cap=64) if traced else None
        loss.backward()
        return emb.weight, g

    plain, _ = run(False)
    weight, g = run(True)
    assert weight.grad.is_sparse
    assert torch.equal(weight.grad.to_dense(), plain.grad.to_dense())
    snap = g.node_for(weight).grad_snapshot
    dense = weight.grad.to_dense()
    if dense.numel() <= 64:
        assert torch.equal(snap.data, dense)
    else:
        assert snap.data is None
        assert snap.stats["norm"] == pytest.approx(dense.norm().item(), rel=1e-6)
        assert snap.stats["zeros"] == pytest.approx((dense == 0).float().mean().item())


@pytest.mark.parametrize("broken", ["_sketch_one", "_compute"])  # a large gradient, a batch
def test_a_gradient_gradviz_cannot_summarise_never_breaks_the_backward(monkeypatch, broken):
    from gradviz.core.sketchbook import SketchBook

    def run(traced):
        torch.manual_seed(6)
        net = torch.nn.Sequential(torch.nn.Linear(80, 80), torch.nn.ReLU(), torch.nn.Linear(80, 1))
        loss = net(torch.randn(64, 80)).pow(2).sum()  # gradients of 5,120 and 6,400 elements
        g = gradviz.trace(loss, budget=0) if traced else None  # every gradient summarised
        loss.backward()
        return net, g

    def fail(*args):
        raise RuntimeError("no sketch for this layout")

    plain, _ = run(False)
    monkeypatch.setattr(SketchBook, broken, fail)
    with pytest.warns(gradviz.GradvizWarning, match="no sketch for this layout"):
        net, g = run(True)
    for p, q in zip(net.parameters(), plain.parameters()):
        assert torch.equal(p.grad, q.grad)
    relu = g.find("ReluBackward0")
    assert relu.order is not None and relu.grad_snapshot is None  # reached, not summarised
    assert not g.capture.armed and g.capture._sketches._last is None  # nothing held on to
