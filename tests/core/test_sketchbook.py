"""The batched sketches of large gradients, checked against torch's own reductions."""

from __future__ import annotations

import weakref

import pytest
import torch

import gradviz
from gradviz.core import sketchbook
from gradviz.core.sketchbook import SketchBook
from gradviz.core.snapshot import SKETCH_SIZE


def _add(book: SketchBook, t: torch.Tensor) -> int:
    return book.add(t, t.numel())


def _snapshot(book: SketchBook, t: torch.Tensor):
    return book.snapshot(_add(book, t), t.shape, str(t.dtype), str(t.device))


def _expected_sample(t: torch.Tensor) -> torch.Tensor:
    flat = t.reshape(-1)
    step = max(1, flat.numel() // SKETCH_SIZE)
    return flat[::step][:SKETCH_SIZE]


def _mixed_tensors() -> list[torch.Tensor]:
    torch.manual_seed(3)
    return [
        torch.randn(100, 50),  # large: sketched where it lies
        torch.randn(8, 9),  # small: copied into a matrix with its twin below
        torch.randn(70, 80, dtype=torch.float64),
        torch.randn(8, 9),
        torch.randn(5, 1).expand(5, 1000),  # not contiguous, stride 0
        torch.randn(30, 40).t(),  # not contiguous
        torch.randn(12, 12, dtype=torch.complex64),
        torch.arange(10.0),  # fewer elements than the sample
        torch.randn(64, 16).to(torch.bfloat16),
    ]


@pytest.mark.parametrize("flush_count", [1, 3, 1000])
def test_every_sketch_has_its_exact_norm_sample_and_metadata_in_order(monkeypatch, flush_count):
    monkeypatch.setattr(sketchbook, "FLUSH_COUNT", flush_count)
    book = SketchBook()
    tensors = _mixed_tensors()
    numbers = [_add(book, t) for t in tensors]
    assert numbers == list(range(len(tensors))) and len(book) == len(tensors)
    for number, t in zip(numbers, tensors):
        norm, sample = book.sketch(number)
        sample = sample[:t.numel()]
        expected = torch.linalg.vector_norm(t.to(torch.complex128 if t.is_complex() else torch.float64))
        rel = 1e-3 if t.element_size() == 2 else 1e-4  # float32 accumulation, any order
        assert norm.item() == pytest.approx(expected.item(), rel=rel)
        assert torch.equal(sample.to(t.dtype), _expected_sample(t))


def test_a_nan_outside_the_sample_is_still_seen():
    t = torch.randn(100, 50)
    t[37, 11] = float("nan")  # not on the sample's stride
    assert not _expected_sample(t).isnan().any()
    book = SketchBook()
    snap = _snapshot(book, t)
    assert snap.data is None and snap.stats["sampled"]
    assert snap.stats["nan"] >= 1 and snap.has_nonfinite


def test_a_scaled_half_precision_gradient_does_not_read_as_infinite():
    # GradScaler multiplies by up to 65536: the norm of such a gradient overflows float16
    t = (torch.ones(4096) * 32768).half()
    assert t.isfinite().all()
    assert torch.linalg.vector_norm(t).isinf()
    book = SketchBook()
    snap = _snapshot(book, t)
    assert not snap.has_nonfinite
    assert snap.stats["norm"] == pytest.approx(32768 * 64)


def test_stats_from_a_sketch_stay_within_the_tensor():
    torch.manual_seed(1)
    t = torch.randn(100, 50)
    book = SketchBook()
    s = _snapshot(book, t).stats
    assert t.min().item() <= s["min"] <= s["max"] <= t.max().item()
    assert s["norm"] == pytest.approx(t.norm().item(), rel=1e-6)


def test_queued_gradients_are_computed_when_read(monkeypatch):
    batches = []
    compute = SketchBook._compute
    monkeypatch.setattr(SketchBook, "_compute", lambda book, items: batches.append(len(items))
                        or compute(book, items))
    book = SketchBook()
    a, b = torch.randn(300), torch.randn(300)
    _add(book, a)
    assert batches == []  # still queued, nothing computed yet
    assert book.sketch(_add(book, b))[0].item() == pytest.approx(b.norm().item(), rel=1e-6)
    assert batches == [2]


def test_a_gradient_that_carries_a_graph_is_sketched_without_one():
    # under create_graph=True the hook sees gradients that require grad
    t = torch.randn(100, 50, requires_grad=True) * 2
    book = SketchBook()
    norm, sample = book.sketch(_add(book, t))
    assert not norm.requires_grad and not sample.requires_grad
    assert norm.item() == pytest.approx(t.detach().norm().item(), rel=1e-5)


def test_a_view_of_the_last_gradient_shares_its_sketch():
    # a view op hands its gradient on transposed or reshaped: the same elements, one sketch
    book = SketchBook()
    base = torch.randn(2, 16, 256)
    number = _add(book, base)
    for view in (base.view(32, 256), base.transpose(1, 2), base.permute(2, 0, 1)):
        assert _add(book, view) == number
    assert len(book) == 1
    assert book.sketch(number)[0].item() == pytest.approx(base.norm().item(), rel=1e-5)


@pytest.mark.parametrize("base, other", [
    (torch.randn(2, 16, 256), lambda t: t[:, :8]),  # same first address, fewer elements
    (torch.randn(4, 16, 256)[:2], lambda t: t.as_strided(t.shape, (8192, 256, 1))),  # gaps
    (torch.randn(2, 16, 256).half(), lambda t: t.view(torch.bfloat16)),  # same bytes, other dtype
], ids=["fewer", "gaps", "dtype"])
def test_different_elements_at_the_same_address_get_their_own_sketch(base, other):
    book = SketchBook()
    view = other(base)
    assert view.data_ptr() == base.data_ptr()
    first, second = _add(book, base), _add(book, view)
    assert second != first
    expected = torch.linalg.vector_norm(view.double()).item()
    assert book.sketch(second)[0].item() == pytest.approx(expected, rel=1e-3)


def test_a_gradient_not_held_is_not_matched_and_the_end_of_a_pass_lets_go():
    book = SketchBook()
    leaf_grad = torch.randn(100, 50)
    first = book.add(leaf_grad, leaf_grad.numel(), hold=False)
    assert _add(book, leaf_grad.t()) != first  # no reference was kept: the memory was free to change
    held = torch.randn(100, 50)
    _add(book, held)
    alive = weakref.ref(held)
    book.finish()  # the end of a backward pass
    del held
    assert alive() is None


def test_small_gradients_sharing_a_channels_last_layout_are_sketched_in_their_own_order():
    # stack keeps a layout all its inputs share: a transformer's head transpose makes one
    torch.manual_seed(4)
    tensors = [torch.randn(2, 16, 1, 16).contiguous(memory_format=torch.channels_last)
               for _ in range(5)]
    assert tensors[0].stride() == (256, 1, 256, 16)
    book = SketchBook()
    numbers = [_add(book, t) for t in tensors]
    for number, t in zip(numbers, tensors):
        norm, sample = book.sketch(number)
        assert norm.item() == pytest.approx(t.norm().item(), rel=1e-5)
        assert torch.equal(sample, _expected_sample(t))


def test_tensors_without_memory_never_share_a_sketch():
    book = SketchBook()
    a, b = (torch.empty(100, 50, device="meta") for _ in range(2))
    assert a.data_ptr() == b.data_ptr() == 0
    assert _add(book, a) != _add(book, b)


class _Wrapped(torch.Tensor):
    """A wrapper subclass without storage of its own, as DTensor (FSDP2's gradients) is."""

    @staticmethod
    def __new__(cls, inner):
        return torch.Tensor._make_wrapper_subclass(cls, inner.shape, dtype=inner.dtype,
                                                   device=inner.device)

    def __init__(self, inner):
        self.inner = inner

    @classmethod
    def __torch_dispatch__(cls, func, types, args=(), kwargs=None):
        unwrap = lambda t: t.inner if isinstance(t, _Wrapped) else t  # noqa: E731
        return func(*torch.utils._pytree.tree_map(unwrap, args),
                    **torch.utils._pytree.tree_map(unwrap, kwargs or {}))


class _NoPointer(_Wrapped):
    """One step further, as XLA's tensors: asking for the address raises."""

    def data_ptr(self):
        raise RuntimeError("no data pointer on this device")


@pytest.mark.parametrize("kind", [_Wrapped, _NoPointer])
def test_gradients_without_an_address_are_sketched_and_never_shared(kind):
    inner = torch.randn(100, 50)
    grads = [kind(inner), kind(inner.clone())]
    book = SketchBook()
    numbers = [_add(book, g) for g in grads]
    assert numbers[0] != numbers[1]
    norm, sample = book.sketch(numbers[0])
    assert norm.item() == pytest.approx(inner.norm().item(), rel=1e-5)
    assert torch.equal(sample, _expected_sample(inner))


def _tanh_mlp(layers: list[torch.nn.Linear], x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
    hidden, h = [], x
    for layer in layers:
        h = torch.tanh(layer(h))
        hidden.append(h)
    return h.square().sum(), hidden


def test_a_small_graph_queues_a_sixteenth_of_its_gradients_at_first_and_reads_them_right(monkeypatch):
    torch.manual_seed(5)
    layers = [torch.nn.Linear(16, 16) for _ in range(120)]
    x = torch.randn(32, 16)  # gradients of 512 elements: below COPY_BELOW
    reference_loss, reference_hidden = _tanh_mlp(layers, x)
    for h in reference_hidden:
        h.retain_grad()
    reference_loss.backward()
    for layer in layers:
        layer.zero_grad(set_to_none=True)

    flushes = []  # (gradients queued, nodes the pass has reached) at each batch
    flush = SketchBook._flush

    def watched(book):
        flushes.append((len(book._pending), book._reached()))
        flush(book)

    monkeypatch.setattr(SketchBook, "_flush", watched)
    loss, hidden = _tanh_mlp(layers, x)
    graph = gradviz.trace(loss, budget=0)  # every gradient summarised
    loss.backward()
    nodes, full = len(graph), [queued for queued, _ in flushes[:-1]]  # the last: the pass's end
    assert full[0] == nodes // 16 < sketchbook.FLUSH_COUNT
    assert all(queued <= (nodes + 3 * reached) // 16 for queued, reached in flushes)
    assert full[-1] > full[0]  # more may wait once autograd has freed some of what it saved
    for h, ref in zip(hidden, reference_hidden):
        assert graph.node_for(h).grad_norm == pytest.approx(ref.grad.norm().item(), rel=1e-5)
