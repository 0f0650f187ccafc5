"""Whole gradients within a memory budget; past it, summaries that say so instead of None."""

import re

import pytest
import torch

import gradviz
from gradviz.core.budget import DEFAULT_BUDGET, parse_budget


def hooked_transformer():
    """A 2-layer torch.nn.TransformerEncoder of width 32 whose every module output is caught by
    a forward hook into a dict (so no variable of this frame holds them), and the loss."""
    torch.manual_seed(0)
    layer = torch.nn.TransformerEncoderLayer(32, 4, 64, dropout=0.0, batch_first=True)
    model = torch.nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
    caught: dict[str, torch.Tensor] = {}

    def catch(name):
        def hook(module, args, output):
            output = output[0] if isinstance(output, tuple) else output
            if output.requires_grad:
                caught[name] = output
        return hook

    for name, module in model.named_modules():
        if name:
            module.register_forward_hook(catch(name))
    loss = model(torch.randn(2, 8, 32)).pow(2).mean()
    return loss, caught


def test_module_outputs_caught_by_forward_hooks_have_whole_gradients():
    loss, caught = hooked_transformer()
    names = list(caught)
    assert len(names) > 10 and all(t.numel() > 64 for t in caught.values())
    expected = torch.autograd.grad(loss, [caught[n] for n in names], retain_graph=True)
    g = gradviz.trace(loss)
    loss.backward()
    for name, e in zip(names, expected):
        assert torch.allclose(g.grad_of(caught[name]), e, rtol=1e-5, atol=1e-7), name
        assert torch.equal(g.grad_of(caught[name]), g.node_for(caught[name]).grad)
    assert 0 < g.capture.budget.used <= DEFAULT_BUDGET and not g.capture.budget.exceeded


def test_above_the_budget_a_summary_raises_a_clear_error_and_keep_stays_whole():
    loss, caught = hooked_transformer()  # no variable here holds a module output: none named
    expected_kept, expected_summarised = torch.autograd.grad(
        loss, [caught["layers.1.linear1"], caught["layers.0.self_attn"]], retain_graph=True)
    g = gradviz.trace(loss, keep=[caught["layers.1.linear1"]], budget=2048)
    loss.backward()
    assert torch.allclose(g.grad_of(caught["layers.1.linear1"]), expected_kept,
                          rtol=1e-5, atol=1e-7)
    with pytest.raises(gradviz.SummarisedGradError) as raised:
        g.grad_of(caught["layers.0.self_attn"])
    err = raised.value
    assert isinstance(err, gradviz.GradvizError) and isinstance(err, LookupError)
    message = str(err)
    assert "[2, 8, 32]" in message and "keep=[" in message and "2 KiB" in message
    norm = float(re.search(r"norm ([-+0-9.e]+)", message).group(1))
    assert norm == pytest.approx(expected_summarised.norm().item(), rel=1e-3)
    with pytest.raises(gradviz.SummarisedGradError):
        g.node_for(caught["layers.0.self_attn"]).grad
    assert g.capture.budget.used <= 2048 and g.capture.budget.exceeded


def test_a_gradient_too_large_for_what_is_left_is_summarised_and_smaller_ones_still_fit():
    a = torch.randn(10, requires_grad=True)
    b = a.repeat(100)
    c = b * 2
    loss = c.sum()
    expected_c, expected_b, expected_a = torch.autograd.grad(loss, [c, b, a], retain_graph=True)
    # backward meets d(loss) (4 bytes), dc (4000), db (4000: does not fit), da (40: fits)
    g = gradviz.trace(loss, budget=4 + 4000 + 100, namespace={})  # no names: none kept by name
    loss.backward()
    assert torch.equal(g.grad_of(c), expected_c)
    assert torch.equal(g.grad_of(a), expected_a)
    with pytest.raises(gradviz.SummarisedGradError, match=r"shape \[1000\]"):
        g.grad_of(b)
    assert g.node_for(b).grad_snapshot.stats["norm"] == pytest.approx(expected_b.norm().item())
    assert g.capture.budget.used == 4 + 4000 + 40


def test_a_view_of_the_last_kept_gradient_is_not_counted_again():
    def kept_bytes(view):
        torch.manual_seed(0)
        x = torch.randn(40, 25, requires_grad=True)
        h = view(x * 2)  # TBackward passes its gradient on transposed: the same memory
        loss = (h * torch.randn(h.shape)).sum()
        expected = torch.autograd.grad(loss, h, retain_graph=True)[0]
        g = gradviz.trace(loss, namespace={})
        loss.backward()
        assert torch.equal(g.grad_of(h), expected)
        return len(g), g.capture.budget.used

    plain, transposed = kept_bytes(lambda t: t), kept_bytes(lambda t: t.t())
    assert transposed[0] == plain[0] + 1 and transposed[1] == plain[1]


def test_none_means_no_gradient_flowed_and_explain_says_so():
    x = torch.randn(100, requires_grad=True)
    first, second = (x * 2).split(50)
    loss = first.sum()
    g = gradviz.trace(loss, budget=0, namespace={})
    loss.backward()
    assert g.grad_of(second) is None  # the split's second output got no gradient
    assert "no gradient flowed" in gradviz.explain(second)
    summarised = gradviz.explain(first)
    assert "summary" in summarised and "norm 7.07" in summarised and "keep=[" in summarised


@pytest.mark.parametrize("text, size", [("256MiB", 256 * 2**20), ("1GiB", 2**30),
                                         ("1.5 kB", 1500), ("0", 0), (4096, 4096)])
def test_budget_sizes(text, size):
    assert parse_budget(text) == size


@pytest.mark.parametrize("bad", ["lots", "-1MiB", -5, 1.5, True, None, "12 parsecs"])
def test_a_bad_budget_is_a_clear_error(bad):
    S = (torch.randn(3, requires_grad=True) * 2).sum()
    with pytest.raises(gradviz.GradvizError, match="budget"):
        gradviz.trace(S, budget=bad)


def test_keep_takes_tensors_of_the_graph():
    x = torch.randn(3, requires_grad=True)
    S = (x * 2).sum()
    with pytest.raises(gradviz.TraceError, match="keep"):
        gradviz.trace(S, keep=[torch.randn(3, requires_grad=True) * 2])
    with pytest.raises(gradviz.TraceError, match="keep"):
        gradviz.trace(S, keep=["x"])
    with pytest.raises(gradviz.TraceError, match="keep"):
        gradviz.trace(S, keep=3)
    g = gradviz.trace(S, keep=[x], budget=0)  # a leaf can be kept too
    S.backward()
    assert torch.equal(g.grad_of(x), torch.full((3,), 2.0))


def test_sessions_and_json_hold_the_whole_gradients_and_the_summaries(tmp_path):
    import json

    loss, caught = hooked_transformer()
    names = ["layers.0.linear2", "layers.1.self_attn", "layers.1.linear1"]
    expected = torch.autograd.grad(loss, [caught[n] for n in names], retain_graph=True)
    g = gradviz.trace(loss, keep=[caught["layers.1.linear1"]], budget=6000)
    loss.backward()
    ids = [g.node_for(caught[n]).id for n in names]
    whole = [nid for nid in ids if g.node(nid).grad_snapshot.data is not None]
    assert ids[2] in whole and len(whole) < len(ids)  # the kept one whole, another summarised
    loaded = gradviz.load(gradviz.save(g, tmp_path / "run.gradviz"))
    nodes = json.loads(gradviz.export(g, tmp_path / "g.json").read_text())["nodes"]
    for nid, e in zip(ids, expected):
        if nid in whole:
            assert torch.allclose(loaded.node(nid).grad, e, rtol=1e-5, atol=1e-7)
            assert torch.allclose(torch.tensor(nodes[nid]["grad"]["data"]), e, rtol=1e-5, atol=1e-7)
        else:
            with pytest.raises(gradviz.SummarisedGradError, match="saved session"):
                loaded.node(nid).grad
            assert nodes[nid]["grad"]["data"] is None
            assert nodes[nid]["grad"]["stats"]["norm"] == pytest.approx(e.norm().item(), rel=1e-4)
