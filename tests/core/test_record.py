"""gradviz.record(): forward values, nn.Module paths and source lines on the nodes."""

import os
import sys

import pytest
import torch

import gradviz
from tests.core import seed


class Block(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.attn = torch.nn.Linear(4, 4)
        self.mlp = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 4))

    def forward(self, x):
        x = x + self.attn(x)
        return x + self.mlp(x)


class Encoder(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = torch.nn.ModuleList([Block() for _ in range(2)])

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x


def test_module_paths_values_and_source_lines():
    torch.manual_seed(0)
    enc = Encoder()
    x = torch.randn(3, 4)
    with gradviz.record():
        y = enc(x)
        loss = y.pow(2).mean()  # THIS LINE
    g = gradviz.trace(loss)
    loss.backward()
    modules = {n.module for n in g.nodes}
    assert {"layers.0.attn", "layers.1.mlp.0", "layers.1.mlp.2"} <= modules
    assert g.find("layers.1.attn.weight").module == "layers.1.attn"
    assert torch.equal(g.node_for(y).value, y.detach())
    line = next(i for i, text in enumerate(open(__file__), 1) if "# THIS LINE" in text)
    assert g.node_for(loss).source == f"{os.path.basename(__file__)}:{line}"
    # internal ops (the weight transpose inside F.linear) belong to the module that called them
    t_nodes = [n for n in g.nodes if n.op == "TBackward0"]
    assert t_nodes and all(n.module and n.module.endswith(("attn", "mlp.0", "mlp.2")) for n in t_nodes)


def test_value_is_a_copy_taken_before_later_inplace_changes():
    x = torch.ones(3, requires_grad=True)
    with gradviz.record():
        h = x * 2
        before = h.clone()
        h2 = h.exp()
        h.add_(100)  # changes h's storage after h2 was computed from it
        out = (h2 + h).sum()
    g = gradviz.trace(out)
    assert torch.equal(g.node_for(h2).value, before.exp())
    assert torch.equal(g.node_for(h).value, before + 100)  # h's node is now the in-place add


def test_seed_with_record_keeps_z_value():
    X, W, B = seed.tensors()
    with gradviz.record():
        Z = torch.nn.functional.linear(X, W.t(), B)
        S = Z.sum()
    g = gradviz.trace(S)
    assert torch.allclose(g.find("Z").value, torch.tensor(seed.Z_VALUE))
    assert ("mat1", (2, 3), "float32") in g.find("Z").saved


def test_trace_works_without_record_and_hooks_are_gone_after_record():
    n_pre = len(torch.nn.modules.module._global_forward_pre_hooks)
    with gradviz.record():
        pass
    assert len(torch.nn.modules.module._global_forward_pre_hooks) == n_pre
    x = torch.ones(2, requires_grad=True)
    y = (x * 3).sum()
    g = gradviz.trace(y)
    assert g.node_for(y).value is None and g.node_for(y).module is None


def test_record_survives_a_module_that_raises():
    class Boom(torch.nn.Module):
        def forward(self, x):
            raise RuntimeError("boom")

    lin = torch.nn.Linear(2, 2)
    with gradviz.record() as rec:
        try:
            Boom()(torch.ones(2))
        except RuntimeError:
            pass
        y = lin(torch.ones(2)).sum()
        assert rec.stack == []
    g = gradviz.trace(y)
    assert all(n.module is None for n in g.nodes if n.kind != "leaf")  # no stale "Boom" path


def test_ops_of_the_root_module_stay_at_the_root():
    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(2, 2)

        def forward(self, x):
            h = x * 2  # recorded in the root module, consumed inside self.lin
            return self.lin(h)

    with gradviz.record():
        out = Net()(torch.ones(1, 2, requires_grad=True)).sum()
    g = gradviz.trace(out)
    assert g.find("MulBackward0").module is None
    assert g.find("AddmmBackward0").module == "lin"


def test_reading_a_non_leaf_grad_warns_at_the_users_line():
    x = torch.ones(2, requires_grad=True)
    with gradviz.record():
        z = x * 2
        with pytest.warns(UserWarning, match="not a leaf") as caught:
            grad = z.grad; line = sys._getframe().f_lineno  # noqa: E702 - the line read
    assert grad is None and len(caught) == 1
    assert (caught[0].filename, caught[0].lineno) == (__file__, line)


def _torch_stats(t: torch.Tensor) -> dict:
    """The stats a snapshot promises, computed here with plain torch calls."""
    flat = t.detach().double().reshape(-1)
    finite = flat[torch.isfinite(flat)]
    return {"min": finite.min().item(), "max": finite.max().item(),
            "mean": finite.mean().item(), "std": finite.std(unbiased=False).item(),
            "norm": finite.norm().item(), "nan": int(flat.isnan().sum()),
            "inf": int(flat.isinf().sum()), "zeros": (flat == 0).double().mean().item()}


def _assert_stats(snap, t: torch.Tensor) -> None:
    got, want = snap.stats, _torch_stats(t)
    assert (got["nan"], got["inf"]) == (want["nan"], want["inf"])
    for key in ("min", "max", "mean", "std", "norm", "zeros"):
        assert got[key] == pytest.approx(want[key], rel=1e-5, abs=1e-6), key


def test_large_values_keep_their_stats_as_produced_even_after_inplace_changes():
    """Values over the cap keep only stats and a sample: those must be of the value the op
    produced, whether the user changes the tensor in place inside the block or after it."""
    torch.manual_seed(0)
    lin = torch.nn.Linear(64, 64)
    x = torch.randn(32, 64)
    with gradviz.record():
        h = torch.relu(lin(x))  # 2,048 elements, over RECORD_CAP; about half of them zeros
        produced = h.detach().clone()
        h2 = h * 3
        h.add_(100)  # in the block: h's node is now the in-place add
        out = (h2 + h).sum()
    h2.mul_(-1)  # after the block
    g = gradviz.trace(out)
    relu = g.find("ReluBackward0").value_snapshot
    assert relu.data is None and relu.stats["zeros"] > 0.3
    _assert_stats(relu, produced)
    _assert_stats(g.node_for(h).value_snapshot, produced + 100)
    _assert_stats(g.find("MulBackward0").value_snapshot, produced * 3)
    sample = relu.sample
    assert torch.equal(sample, produced.reshape(-1)[::len(produced.reshape(-1)) // len(sample)]
                       [:len(sample)])


def test_large_values_with_nan_and_inf_count_them_and_keep_them_out_of_the_stats():
    x = torch.randn(40, 40)
    x[3, 4], x[7, 1], x[0, 0] = float("nan"), float("inf"), float("-inf")
    w = torch.randn(40, 40, requires_grad=True)
    with gradviz.record():
        y = x * w  # NaN and Inf pass through the product
        z = (x.nan_to_num(0, 0, 0) * w).log()  # NaN where negative, -inf where zero
        lost = w * float("nan")  # no finite value at all
        out = (y + z + lost).sum()
    g = gradviz.trace(out)
    for t in (y, z):
        snap = g.node_for(t).value_snapshot
        assert snap.data is None and snap.has_nonfinite
        _assert_stats(snap, t)
    stats = g.node_for(lost).value_snapshot.stats
    assert (stats["nan"], stats["inf"], stats["norm"]) == (1600, 0, 0.0)
    assert all(stats[k] != stats[k] for k in ("min", "max", "mean", "std"))  # NaN: none finite


def test_a_large_finite_value_is_summarised_without_many_full_size_temporaries():
    """The summary runs inside the user's forward, once per op: each full-size temporary is
    a pass over the value and an allocation (the masks and float64 copies, eleven of them,
    cost a recorded transformer six times its own forward). Counted, not timed."""
    from torch.overrides import TorchFunctionMode

    from gradviz.core.snapshot import RECORD_CAP, Snapshot

    t = torch.randn(64, 64)

    class FullSize(TorchFunctionMode):
        storages: set = set()

        def __torch_function__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            if isinstance(out, torch.Tensor) and out.numel() == t.numel():
                ptr = out.untyped_storage().data_ptr()
                if ptr != t.untyped_storage().data_ptr():
                    FullSize.storages.add(ptr)
            return out

    with FullSize():
        snap = Snapshot.of(t, RECORD_CAP)
    assert len(FullSize.storages) <= 3
    _assert_stats(snap, t)
