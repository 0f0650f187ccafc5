"""A run's history: per-pass figures of every node, equal to what the test's own hooks saw."""

import math

import numpy as np
import pytest
import torch

import gradviz
from gradviz.core.history import BYTES_PER_NODE, CHUNK
from gradviz.core.passes import RunError


def _train(steps: int, every: int = 1, poison: int | None = None):
    """A small loop traced by gradviz.Run; the test's own hooks note the norms of the hidden
    activation's gradient, each parameter's gradient and the global norm, per traced step."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.Tanh(), torch.nn.Linear(5, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    data = torch.randn(6, 3)
    run = gradviz.Run(every=every)
    mine = {"hidden": [], "hidden_value": [], "weight": [], "weight_value": [], "global": [],
            "loss": [], "nan": []}
    for step in range(steps):
        opt.zero_grad()
        x = data.clone()
        if step == poison:
            x[0, 0] = math.nan
        with gradviz.record():
            hidden = model[0](x)
            loss = model[2](model[1](hidden)).pow(2).mean()
        traced = run.trace(loss) is not None
        if traced:
            hidden.register_hook(lambda g: mine["hidden"].append(g.norm().item()) or
                                 mine["nan"].append(int(g.isnan().sum())))
            mine["hidden_value"].append(hidden.detach().norm().item())
            mine["loss"].append(loss.item())
        loss.backward()
        if traced:
            mine["weight"].append(model[0].weight.grad.norm().item())
            mine["weight_value"].append(model[0].weight.detach().norm().item())
            mine["global"].append(math.sqrt(sum(p.grad.norm().item() ** 2
                                                for p in model.parameters())))
        opt.step()  # changes the parameters: the history was taken before
    return run, model, mine


def test_history_figures_equal_the_norms_the_tests_own_hooks_saw():
    run, model, mine = _train(7, every=2)
    assert [g.info["index"] for g in run.passes] == [1, 3, 5, 7]
    hidden = run.history("hidden")
    np.testing.assert_array_equal(hidden.passes, [1, 3, 5, 7])
    np.testing.assert_allclose(hidden.grad_norm, mine["hidden"], rtol=1e-6)
    np.testing.assert_allclose(hidden.value_norm, mine["hidden_value"], rtol=1e-6)
    np.testing.assert_allclose(hidden.loss, mine["loss"], rtol=1e-6)
    np.testing.assert_allclose(hidden.global_norm, mine["global"], rtol=1e-6)
    assert hidden.present.all() and not hidden.nan.any()
    weight = run.history(run.passes[-1].node_for(model[0].weight))
    np.testing.assert_allclose(weight.grad_norm, mine["weight"], rtol=1e-6)
    np.testing.assert_allclose(weight.value_norm, mine["weight_value"], rtol=1e-6)


def test_nan_counts_per_pass():
    run, _, mine = _train(3, poison=1)
    hidden = run.history("hidden")
    assert hidden.nan.tolist() == mine["nan"] and mine["nan"][1] > 0 and mine["nan"][0] == 0


def test_the_history_outlives_the_kept_graphs():
    torch.manual_seed(0)
    w = torch.randn(3, requires_grad=True)
    run = gradviz.Run(keep=2)
    norms = []
    for step in range(CHUNK + 5):  # past one chunk of rows
        loss = (w * (step + 1)).sum()
        run.trace(loss)
        loss.backward()
        norms.append(w.grad.norm().item())
        w.grad = None
    assert [g.info["index"] for g in run.passes] == [CHUNK + 4, CHUNK + 5]
    np.testing.assert_allclose(run.history("w").grad_norm, norms, rtol=1e-6)
    assert run.history_bytes == 2 * CHUNK * len(run.passes[-1]) * BYTES_PER_NODE


def test_a_branch_taken_in_some_passes_leaves_the_other_nodes_matched():
    torch.manual_seed(0)
    lin = torch.nn.Linear(2, 2)
    x = torch.randn(4, 2)
    run = gradviz.Run()
    mine = []
    for step in range(4):
        with gradviz.record():
            h = lin(x)
            if step % 2:
                h = h * 3  # the branch: only in passes 2 and 4
            out = h.tanh()
            loss = out.sum()
        run.trace(loss)
        out.register_hook(lambda g: mine.append(g.norm().item()))
        loss.backward()
    tanh = run.history("out")
    assert tanh.present.all()
    np.testing.assert_allclose(tanh.grad_norm, mine, rtol=1e-6)
    branch = run.history(run.passes[-1].find("MulBackward0"))
    assert branch.present.tolist() == [False, True, False, True]
    assert np.isnan(branch.grad_norm[[0, 2]]).all() and np.isfinite(branch.grad_norm[[1, 3]]).all()


def test_history_of_something_no_pass_had_says_so():
    run = gradviz.Run()
    with pytest.raises(RunError, match="no pass was traced yet"):
        run.history("w")
    w = torch.ones(2, requires_grad=True)
    loss = (w * 2).sum()
    run.trace(loss)
    loss.backward()
    with pytest.raises(RunError, match="no node named 'nothing'"):
        run.history("nothing")


def test_a_leaf_whose_storage_was_freed_before_backward_has_no_value_and_breaks_nothing():
    """FSDP frees an unsharded parameter's storage once forward is done; the history read
    its value at the end of backward and raised out of loss.backward()."""
    w = torch.ones(3, requires_grad=True)
    x = torch.arange(3.0, requires_grad=True)
    loss = (x * 2).sum() + w.sum()  # neither backward needs w's values
    with torch.no_grad():
        w.untyped_storage().resize_(0)
    run = gradviz.Run()
    run.trace(loss)
    loss.backward()
    figures = run.history("w")
    assert math.isnan(figures.value_norm[0])
    assert figures.grad_norm[0] == pytest.approx(math.sqrt(3))
    assert run.history("x").value_norm[0] == pytest.approx(torch.arange(3.0).norm().item())
    assert run.passes[0].find("w").value_snapshot.stats == {}
