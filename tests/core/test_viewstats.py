"""A view recorded right after the value it views reuses its stats only while both hold the
same values: compared with stats torch computes on a copy taken at the time."""

import pytest
import torch

import gradviz
from gradviz.core.record import tag_of
from gradviz.core.viewstats import elements


def _expected(values: torch.Tensor) -> dict:
    v = values.double().reshape(-1)
    return {"min": v.min().item(), "max": v.max().item(), "mean": v.mean().item(),
            "norm": v.norm().item(), "zeros": (v == 0).double().mean().item()}


def _recorded(t: torch.Tensor) -> dict:
    return tag_of(t.grad_fn)["values"][t.output_nr].stats


def test_views_get_the_stats_of_their_own_values():
    torch.manual_seed(0)
    x = torch.randn(64, 48, requires_grad=True)
    got, copies = {}, {}

    def note(name, t):
        got[name], copies[name] = _recorded(t), t.detach().clone()

    with gradviz.record():
        y = x * 2
        y[::2] = 0  # zeros in y: the fraction must follow each view's own elements
        note("y", y)
        note("t", y.t())
        note("flat", y.view(-1))
        note("expanded", y[:, :1].expand(64, 48))
        note("half", y[:32])
        y.t().mul_(3)  # bumps the version counter that y and its views share
        note("after", y.reshape(-1))
    for name, stats in got.items():
        for key, value in _expected(copies[name]).items():
            assert stats[key] == pytest.approx(value, rel=1e-5, abs=1e-6), (name, key)


def test_elements_keys_the_set_of_values_a_view_covers():
    y = torch.randn(8, 6)
    assert elements(y) == elements(y.t()) == elements(y.view(2, 4, 6).transpose(0, 2))
    assert elements(y[:4]) != elements(y)
    assert elements(y[:, :1].expand(8, 6)) is None  # repeats values: other norm, other mean
    assert elements(y.view(torch.int32)) != elements(y)
    before = elements(y)
    y.add_(1)
    assert elements(y) != before
