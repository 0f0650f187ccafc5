"""Snapshots: stats against torch's own reductions, caps, odd dtypes."""

import math

import pytest
import torch

from gradviz.core.snapshot import Snapshot


def test_small_tensor_keeps_a_copy_and_exact_stats():
    t = torch.tensor([[1.0, -2.0], [0.0, 4.0]])
    s = Snapshot.of(t)
    t.add_(1)  # the snapshot is a copy
    assert torch.equal(s.data, torch.tensor([[1.0, -2.0], [0.0, 4.0]]))
    st = s.stats
    assert (st["min"], st["max"], st["nan"], st["inf"], st["zeros"]) == (-2.0, 4.0, 0, 0, 0.25)
    assert st["mean"] == pytest.approx(0.75) and st["norm"] == pytest.approx(math.sqrt(21))
    assert st["std"] == pytest.approx(torch.tensor([1.0, -2, 0, 4]).std(unbiased=False).item())
    assert s.tolist() == [[1.0, -2.0], [0.0, 4.0]]


def test_large_tensor_keeps_stats_and_histogram_only():
    torch.manual_seed(0)
    t = torch.randn(300, 300)
    s = Snapshot.of(t, cap=1000)
    assert s.data is None and s.tolist() is None
    assert s.stats["max"] == pytest.approx(t.max().item())
    assert s.stats["norm"] == pytest.approx(t.norm().item(), rel=1e-5)
    counts, edges = s.histogram(bins=10)
    assert sum(counts) == len(s.sample) <= 4096 and len(edges) == 11


def test_nan_and_inf_are_counted_and_kept_out_of_min_max():
    t = torch.tensor([1.0, float("nan"), float("inf"), -3.0, float("-inf")])
    for cap in (100, 1):
        st = Snapshot.of(t, cap=cap).stats
        assert (st["nan"], st["inf"], st["min"], st["max"]) == (1, 2, -3.0, 1.0)
    assert Snapshot.of(t).has_nonfinite


@pytest.mark.parametrize("t", [
    torch.arange(6).view(2, 3),
    torch.tensor([True, False, True]),
    torch.randn(3, dtype=torch.complex64),
    torch.randn(4, dtype=torch.bfloat16),
    torch.randn(4, dtype=torch.float16),
    torch.randn(4, dtype=torch.float64),
    torch.empty(0, 3),
])
def test_any_dtype_does_not_break(t):
    for cap in (1000, 0):
        s = Snapshot.of(t, cap=cap)
        assert set(s.stats) >= {"min", "max", "mean", "std", "norm", "nan", "inf", "zeros"}
        s.histogram()
    assert Snapshot.of(t).tolist() is not None


def test_complex_is_summarised_by_magnitude():
    t = torch.tensor([3 + 4j, 0j])
    assert Snapshot.of(t).stats["max"] == pytest.approx(5.0)
    assert Snapshot.of(t).tolist() == [[3.0, 4.0], [0.0, 0.0]]


def test_unnamed_gradients_past_the_budget_are_sketched_and_named_ones_kept():
    import gradviz

    x = torch.randn(40, 40, requires_grad=True)
    named = x * 2
    loss = (named.exp() * 3).sum()  # exp's output is not held by any variable
    g = gradviz.trace(loss, budget=0)
    loss.backward()
    assert torch.equal(g.grad_of(named), 3 * named.detach().exp())
    exp = g.find("ExpBackward0")
    with pytest.raises(gradviz.SummarisedGradError):
        exp.grad
    assert exp.grad_snapshot.stats["norm"] == pytest.approx(3 * 40.0)
    assert (exp.grad_snapshot.shape, exp.grad_snapshot.dtype) == ((40, 40), "float32")


def test_meta_tensors_keep_shapes_and_dtypes_and_no_values(tmp_path):
    import json

    import gradviz
    from gradviz.core.session import load, save

    W = torch.randn(300, 2, device="meta", requires_grad=True)
    X = torch.randn(40, 300, device="meta")
    with gradviz.record():  # the user's own forward runs as without gradviz
        Z = X @ W
        S = Z.relu().sum()
    g = gradviz.trace(S)
    S.backward()
    z = g.find("Z")
    for snap in (z.value_snapshot, z.grad_snapshot, g.find("W").grad_snapshot):
        assert (snap.device, snap.data, snap.stats, snap.has_values) == ("meta", None, {}, False)
    assert z.value_snapshot.shape == (40, 2) and z.grad_norm is None
    gradviz.export(g, tmp_path / "g.json")
    nodes = {n["name"]: n for n in json.loads((tmp_path / "g.json").read_text())["nodes"]}
    assert nodes["Z"]["value"] == {"shape": [40, 2], "dtype": "float32", "stats": None,
                                   "data": None}
    gradviz.export(g, tmp_path / "g.svg", color_by="grad_norm", labels="values")
    svg = (tmp_path / "g.svg").read_text()
    assert "|value|" not in svg and "None" not in svg  # no number where there is none
    again = load(save(g, tmp_path / "g.gradviz"))
    assert again.find("Z").value_snapshot.shape == (40, 2)
    assert not again.find("Z").grad_snapshot.has_values


def test_sparse_and_nested_tensors_snapshot_without_crashing():
    small = torch.tensor([[0.0, 2.0], [3.0, 0.0]])
    for sparse in (small.to_sparse(), small.to_sparse_csr()):
        snap = Snapshot.of(sparse, cap=64)  # small: kept as its dense values
        assert snap.tolist() == small.tolist() and snap.stats["norm"] == pytest.approx(13 ** 0.5)
    big = Snapshot.of(torch.eye(100).to_sparse(), cap=64)
    assert (big.shape, big.data, big.stats, big.histogram()) == ((100, 100), None, {}, ([], []))
    ragged = [torch.ones(2, 3), torch.ones(4, 3)]
    jagged = Snapshot.of(torch.nested.nested_tensor(ragged, layout=torch.jagged))
    assert (jagged.shape, jagged.has_values) == ((2, -1, 3), False)
    assert not Snapshot.of(torch.nested.nested_tensor(ragged)).has_values


def test_norm_alone_is_the_norm_over_finite_values():
    t = torch.tensor([3.0, 4.0, float("nan"), float("inf"), -12.0])
    finite = t[torch.isfinite(t)]
    want = float(torch.linalg.vector_norm(finite.double()))
    assert Snapshot.of(t).norm == pytest.approx(want)
    plain = torch.randn(10, 10)
    snap = Snapshot.of(plain, cap=1000)
    assert snap.norm == pytest.approx(float(plain.double().norm()), rel=1e-6)
    assert snap.norm == pytest.approx(snap.stats["norm"], rel=1e-6)
    big = Snapshot.of(torch.arange(5000.0), cap=10)  # a summary: its exact norm is kept
    assert big.data is None
    assert big.norm == pytest.approx(float(torch.arange(5000.0).double().norm()), rel=1e-6)
    assert Snapshot.of(torch.ones(3, dtype=torch.int64)).norm == pytest.approx(3 ** 0.5)
