"""Sketches of the gradients too large to keep, computed a batch at a time.

A backward hook that summarises each large gradient on its own pays three or four kernel
launches, their Python wrappers and their allocations per autograd node: at narrow widths
that is several times the cost of the node itself, and the hundreds of thousands of small
tensors it leaves behind also wake the cyclic garbage collector again and again. So the hook
only queues the gradient (a list append) and gets back a number; every ``FLUSH_COUNT``
gradients, or ``FLUSH_BYTES`` of them, one batch computes all their exact norms and strided
samples with a few kernels per distinct gradient size.
Holding a few gradients a little longer is the only cost.
"""

from __future__ import annotations

import bisect
import threading

import torch
from torch._utils import _flatten_dense_tensors

from .snapshot import SKETCH_SIZE, Snapshot

#: A batch is computed once this many gradients are queued, or this many bytes of them:
#: enough to spread the batch's own overhead thin, small enough to hold little memory.
FLUSH_COUNT = 256
FLUSH_BYTES = 1 << 20
#: Gradients up to this many elements are copied together into one matrix to be sketched;
#: larger ones are sketched where they lie.
COPY_BELOW = 4096


class SketchBook:
    """Exact norm and a ``SKETCH_SIZE``-element strided sample of each gradient added."""

    def __init__(self):
        # engine threads of different devices may run hooks concurrently
        self._lock = threading.Lock()
        self._count = 0
        self._pending: list[torch.Tensor] = []
        self._pending_bytes = 0
        # per computed batch: its first sketch number, norms, samples, (shape, dtype, device)s
        self._starts: list[int] = []
        self._norms: list[torch.Tensor] = []
        self._samples: list = []  # a matrix per batch, or a list of rows
        self._meta: list[list[tuple]] = []
        self._interned: dict[tuple, tuple] = {}  # one (shape, dtype, device) per distinct one
        self._index_cache: dict[tuple, torch.Tensor] = {}

    def __len__(self) -> int:
        return self._count

    def add(self, grad: torch.Tensor, nbytes: int) -> int:
        """Queue ``grad`` (not empty, ``nbytes`` long); returns its sketch number."""
        with self._lock:
            number = self._count
            self._count += 1
            self._pending.append(grad)
            self._pending_bytes += nbytes
            if len(self._pending) >= FLUSH_COUNT or self._pending_bytes >= FLUSH_BYTES:
                self._flush()
        return number

    def flush(self) -> None:
        """Compute the sketches still queued (the end of a pass, or somebody reading)."""
        with self._lock:
            self._flush()

    def _flush(self) -> None:
        grads, self._pending, self._pending_bytes = self._pending, [], 0
        if not grads:
            return
        # Gradients of one shape, dtype and device (a model has few) are sketched together.
        groups: dict[tuple, list[int]] = {}
        for i, g in enumerate(grads):
            groups.setdefault((g.shape, g.dtype, g.device), []).append(i)
        meta = [None] * len(grads)
        parts = []
        for key, members in groups.items():
            key = self._interned.setdefault(key, key)
            for i in members:
                meta[i] = key
            same = [grads[i] for i in members]
            sketch = self._sketch_rows if key[0].numel() <= COPY_BELOW else self._sketch_each
            parts.append((members, *sketch(same)))
        if len(parts) == 1:
            norms, samples = parts[0][1:]
        else:
            back = torch.argsort(torch.tensor([i for members, _, _ in parts for i in members]))
            norms = torch.cat([n.to(grads[0].device) for _, n, _ in parts])[back]
            if len({s.is_complex() for _, _, s in parts}) == 1:
                samples = torch.cat([s.to(grads[0].device) for _, _, s in parts])[back]
            else:  # one matrix would make the real samples complex: rows apart (rare)
                samples = [None] * len(grads)
                for members, _, rows in parts:
                    for i, row in zip(members, rows):
                        samples[i] = row
        self._starts.append(self._count - len(grads))
        self._norms.append(norms)
        self._samples.append(samples)
        self._meta.append(meta)

    def _sketch_rows(self, grads: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """Small gradients: copied into the rows of one matrix, then one kernel for all their
        norms and one for all their samples."""
        rows = _flatten_dense_tensors(grads).view(len(grads), -1)
        norms = torch.linalg.vector_norm(rows, dim=1, dtype=_norm_dtype(rows.dtype))
        return norms, rows[:, self._sample_index(rows.shape[1], rows.device)]

    def _sketch_each(self, grads: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """Large gradients: copying them would cost more than a call each, so one fused
        norm over the originals and a gather of each one's sample."""
        g0 = grads[0]
        norms = torch.stack(torch._foreach_norm(grads, 2, _norm_dtype(g0.dtype)))
        index = self._sample_index(g0.numel(), g0.device)
        return norms, torch.stack([torch.take(g, index) for g in grads])

    def _sample_index(self, n: int, device: torch.device) -> torch.Tensor:
        """SKETCH_SIZE evenly strided positions; under SKETCH_SIZE elements (a tiny
        ``cap``) the last one repeats. Cached: a model has few gradient sizes."""
        index = self._index_cache.get((n, device))
        if index is None:
            index = (torch.arange(SKETCH_SIZE) * max(1, n // SKETCH_SIZE)).clamp_max_(n - 1)
            self._index_cache[n, device] = index = index.to(device)
        return index

    def sketch(self, number: int) -> tuple:
        """What :meth:`Snapshot.from_sketch` reads: (norm, sample, shape, dtype, device)."""
        if self._pending:
            self.flush()
        batch = bisect.bisect_right(self._starts, number) - 1
        row = number - self._starts[batch]
        shape, dtype, device = self._meta[batch][row]
        sample = self._samples[batch][row][:shape.numel()]
        return self._norms[batch][row], sample, shape, dtype, device

    def snapshot(self, number: int) -> Snapshot:
        return Snapshot.from_sketch(self.sketch(number))

    @property
    def nbytes(self) -> int:
        """Tensor bytes held by the computed sketches."""
        return sum(t.nbytes for t in self._norms) + sum(
            sum(r.nbytes for r in s) if isinstance(s, list) else s.nbytes for s in self._samples)


def _norm_dtype(dtype: torch.dtype) -> torch.dtype | None:
    """float32 at least: a half-precision norm overflows to inf (a false alarm) once a
    gradient scaled by GradScaler has a few thousand elements."""
    return None if dtype.is_complex else torch.promote_types(dtype, torch.float32)
