"""Two passes compared: nodes matched by key, log ratios equal to the norms the test's own
hooks saw, the branch the data took in one pass only listed as only in that pass."""

import math

import pytest
import torch

import gradviz
from gradviz.core.diff import DiffError, compare, diff_of


def _ops(root) -> list[str]:
    """The op of every autograd node reached from ``root``, walked here, not by gradviz."""
    seen, todo, ops = set(), [root], []
    while todo:
        fn = todo.pop()
        if fn is None or fn in seen:
            continue
        seen.add(fn)
        ops.append(type(fn).__name__)
        todo += [f for f, _ in fn.next_functions]
    return ops


def branching_run():
    """Two steps of a model whose branch follows the data: tanh then * 2 when the batch's
    mean is positive (pass 1), sigmoid otherwise (pass 2); an optimizer step between."""
    torch.manual_seed(0)
    lin = torch.nn.Linear(3, 3)
    opt = torch.optim.SGD(lin.parameters(), lr=0.5)
    run = gradviz.Run()
    mine = []
    for sign in (1.0, -1.0):
        opt.zero_grad()
        x = torch.rand(4, 3) * sign
        seen = {"weight_value": lin.weight.detach().norm().item()}
        with gradviz.record():
            h = lin(x)
            out = h.tanh() * 2 if x.mean() > 0 else h.sigmoid()
            loss = out.pow(2).mean()
        seen["h_value"] = h.detach().norm().item()
        seen["ops"] = _ops(loss.grad_fn)
        run.trace(loss)
        h.register_hook(lambda g, seen=seen: seen.update(h=g.norm().item()))
        loss.backward()
        seen["weight"] = lin.weight.grad.norm().item()
        mine.append(seen)
        opt.step()
    return run, mine


def test_a_diff_of_two_passes_of_a_branching_model():
    run, (a, b) = branching_run()
    d = compare(*run.passes, names=("pass 1", "pass 2"))
    g = d.graph
    only_a = sorted(g.cols.op[u] for u in d.only_a)
    only_b = sorted(g.cols.op[u] for u in d.only_b)
    assert only_a == sorted(set(a["ops"]) - set(b["ops"])) == ["MulBackward0", "TanhBackward0"]
    assert only_b == sorted(set(b["ops"]) - set(a["ops"])) == ["SigmoidBackward0"]
    assert len(g) == len(run.passes[1]) + 2
    addmm = g.find("AddmmBackward0").id
    assert d.changes[addmm].where == "both"
    assert d.ratio(addmm) == pytest.approx(math.log10(b["h"] / a["h"]), rel=1e-5)
    assert d.ratio(addmm, "value") == pytest.approx(math.log10(b["h_value"] / a["h_value"]),
                                                    rel=1e-5)
    weight = g.find("weight").id
    assert d.ratio(weight) == pytest.approx(math.log10(b["weight"] / a["weight"]), rel=1e-5)
    # the weight's value as each pass saw it, before the optimizer step changed it in place
    assert d.ratio(weight, "value") == pytest.approx(
        math.log10(b["weight_value"] / a["weight_value"]), rel=1e-5)
    assert all(math.isnan(d.ratio(u)) for u in d.only_a + d.only_b)
    # the only-in-A branch hangs between the matched nodes it joined in A
    tanh = next(u for u in d.only_a if g.cols.op[u] == "TanhBackward0")
    assert (addmm, tanh) in {(s, t) for s, t, _ in g.edges}
    biggest = d.biggest(3)
    changes = [abs(d.ratio(u)) for u in biggest]
    assert changes == sorted(changes, reverse=True) and len(biggest) == 3
    assert all(abs(d.ratio(u)) <= changes[-1] for u in range(len(g))
               if u not in biggest and not math.isnan(d.ratio(u)))
    assert diff_of(g) is d


def test_a_diff_needs_two_captured_passes_and_a_known_measure():
    x = torch.ones(2, requires_grad=True)
    g = gradviz.trace((x * 2).sum())
    with pytest.raises(DiffError, match="A has no gradients"):
        compare(g, g)
    run, _ = branching_run()
    d = compare(*run.passes)
    with pytest.raises(DiffError, match="unknown measure 'memory'"):
        d.ratio(0, "memory")
    with pytest.raises(DiffError, match="needs two passes compared"):
        diff_of(run.passes[0])


def test_a_norm_no_tensor_has_gives_no_ratio_and_no_error():
    """A damaged session may hold a negative or NaN norm: that node has no ratio."""
    run, _ = branching_run()
    a, b = run.passes
    addmm_a, addmm_b = a.find("AddmmBackward0"), b.find("AddmmBackward0")
    addmm_a.grad_snapshot.stats["norm"] = -1.0
    b.find("weight").grad_snapshot.stats["norm"] = math.nan
    d = compare(a, b)
    assert math.isnan(d.ratio(addmm_b.id)) and math.isnan(d.ratio(b.find("weight").id))
    assert d.to_dict()["nodes"][addmm_b.id]["grad_norm_a"] is None
