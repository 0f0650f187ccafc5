"""Stats of a view taken from the tensor it views, when both hold the very same values.

``record()`` snapshots attention's q, k and v as they are split, viewed and transposed in
turn, and the logits before and after ``flatten``: one set of values each time, whose stats
(min, max, mean, std, norm, NaN/Inf counts, zeros) are the same. Reading them again cost a
narrow transformer's recorded forward a third of its snapshots. A view only gets its own
strided sample (the order of its values differs).
"""

from __future__ import annotations

import weakref

import torch

from .internals import version

#: Recent snapshots remembered: a view follows the value it views within a few ops.
RECENT = 8


def elements(t: torch.Tensor) -> tuple | None:
    """What decides a dense tensor's stats: its storage, version counter, dtype, and the set
    of elements it covers (its offset, and its dims in stride order merged where one runs on
    into the next); None where dims overlap (an expanded view repeats values)."""
    dims = sorted((s, n) for s, n in zip(t.stride(), t.shape) if n != 1)
    merged: list[list[int]] = []
    for stride, size in dims:
        if stride == 0:
            return None
        if merged:
            inner_stride, inner_size = merged[-1]
            if stride < inner_stride * inner_size:
                return None
            if stride == inner_stride * inner_size:
                merged[-1][1] *= size
                continue
        merged.append([stride, size])
    return (t.untyped_storage().data_ptr(), t.storage_offset(), version(t), t.dtype,
            t.is_conj(), t.is_neg(), tuple(map(tuple, merged)))


class ViewStats:
    """The stats of the last :data:`RECENT` large values a recorder snapshotted, by
    :func:`elements`. Each entry holds its tensor weakly: while the tensor lives, its storage
    does, so no other tensor can take that address with a fresh version counter."""

    def __init__(self):
        self.recent: dict[tuple, tuple[weakref.ref, dict]] = {}

    def get(self, key: tuple | None) -> dict | None:
        entry = self.recent.get(key) if key is not None else None
        if entry is None or entry[0]() is None:
            return None
        return dict(entry[1])

    def put(self, key: tuple | None, t: torch.Tensor, stats: dict) -> None:
        if key is None:
            return
        self.recent[key] = (weakref.ref(t), stats)
        if len(self.recent) > RECENT:
            del self.recent[next(iter(self.recent))]
