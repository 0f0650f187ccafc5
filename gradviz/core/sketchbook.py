"""Sketches of the gradients too large to keep: exact norm and a strided sample, in batches.

A backward hook that summarises each small gradient on its own pays three or four kernel
launches, their Python wrappers and their allocations per autograd node: at narrow widths
that is several times the cost of the node itself, and the hundreds of thousands of small
tensors it leaves behind also wake the cyclic garbage collector again and again. So the hook
queues a small gradient (a list append) and gets back a number; every so many gradients
(:func:`batch_size`) one batch computes all their norms and samples with a few kernels per
distinct gradient size. A large gradient is sketched on arrival instead: there the kernels cost
little next to the op, and holding it back would."""

from __future__ import annotations

import bisect
import functools
import threading

import torch

from .snapshot import SKETCH_SIZE, Snapshot

#: A batch is computed once this many gradients are queued, or this many elements of them:
#: enough to spread the batch's own overhead thin, small enough to hold little memory.
FLUSH_COUNT = 256
FLUSH_NUMEL = 1 << 19
#: The fewest gradients a batch waits for, however small the graph.
FLUSH_COUNT_MIN = 32
#: Gradients up to this many elements are held until their batch copies them into one
#: matrix; larger ones are sketched on arrival, where they lie.
COPY_BELOW = 4096


def batch_size(nodes: int, reached: int = 0) -> int:
    """Gradients per batch for a graph of ``nodes`` autograd nodes, ``reached`` of which the
    pass has reached: a sixteenth of the graph at first, growing by 3/16 of each node reached,
    between ``FLUSH_COUNT_MIN`` and ``FLUSH_COUNT``.

    The queue is capture's largest memory, and the graph's own saved tensors scale with its
    node count: at 1,000 narrow nodes a queue of 256 gradients raised the pass's peak by 47%
    (GPT) and 92% (MLP) of what autograd saved, a queue of 64 by 12% and 23% (torch.profiler's
    allocation events, counted as ``benchmarks/capture.py`` counts them). But autograd frees
    its saved tensors as the pass goes (at 1,000 nodes the plain pass held 666 KB at its start
    and 1 KB at its end for the MLP, 637 KB and 239 KB for the GPT), so the queue may grow as
    they go: growing by 3/16 per node left those peaks where they were and took the backward
    from 2.10x to 2.00x (GPT) and 1.89x to 1.81x (MLP) in paired runs; 4/16 raised the MLP's
    peak to 28%. Large graphs keep the full batch, the cheapest per gradient.
    """
    return max(FLUSH_COUNT_MIN, min(FLUSH_COUNT, (nodes + 3 * reached) // 16))


class SketchBook:
    """Exact norm and a ``SKETCH_SIZE``-element strided sample of each gradient added.

    It keeps no shape or dtype: the graph knows them (autograd checks every gradient
    against them), and reading them here would cost the hook a third of its time.
    """

    def __init__(self):
        self.flush_count = FLUSH_COUNT  # set by pace() for a graph of known size
        self._nodes = 0
        self._reached = None  # how many of the graph's nodes the pass has reached, when paced
        # engine threads of different devices may run hooks concurrently
        self._lock = threading.Lock()
        self._count = 0
        # small gradients waiting, and (norm, sample) of large ones, in number order
        self._pending: list = []
        self._pending_numel = 0
        # per computed batch: its first sketch number; and its first rows, norms and samples
        # per part (one part, or one per group), and each of its gradients' row
        self._starts: list[int] = []
        self._batches: list[tuple[list[int], list, list, list[int]]] = []
        # the last gradient held, its address, element count and number: a view op's gradient
        # is often the same memory as the one before it (see ``add``). Fields, not a tuple: a
        # tuple per gradient would wake the cyclic garbage collector again and again.
        self._last: torch.Tensor | None = None
        self._last_ptr = self._last_numel = self._last_number = -1

    def __len__(self) -> int:
        return self._count

    def pace(self, nodes: int, reached) -> None:
        """Size batches for a pass over ``nodes`` autograd nodes (:func:`batch_size`);
        ``reached()`` says how many of them the pass has reached so far."""
        self._nodes, self._reached = nodes, reached
        self.flush_count = batch_size(nodes)

    def add(self, grad: torch.Tensor, numel: int, hold: bool = True) -> int:
        """Queue ``grad`` (``numel`` elements, not empty); returns its sketch number.

        A gradient that lies in the same memory as the last one held (a view op passes its
        gradient on reshaped or transposed: a fifth of a transformer's gradients, and each
        weight's twice) gets that one's number: its norm and sample are of the same elements.
        Holding the last one pins its memory, so neither the allocator nor autograd's
        in-place accumulation can put other numbers at that address meanwhile. ``hold=False``
        for a leaf's gradient: AccumulateGrad would copy a pinned one instead of adopting it.
        """
        try:
            ptr = grad.data_ptr()
        except RuntimeError:  # no memory to compare (XLA and lazy tensors)
            ptr = 0
        if ptr and ptr == self._last_ptr:  # 0: no storage (meta and fake tensors)
            with self._lock:  # the fields, as one engine thread left them
                if (ptr == self._last_ptr and numel == self._last_numel
                        and _same_memory(grad, self._last)):
                    return self._last_number
        if numel > COPY_BELOW:
            # Sketched at once: held back, large gradients keep autograd from reusing their
            # memory, which cost more than the two kernels here (up to +0.4x at width 256).
            item = self._sketch_one(grad.detach() if grad.requires_grad else grad, numel)
            queued = 0
        else:
            item, queued = grad, numel
        with self._lock:
            number = self._count
            self._count += 1
            self._pending.append(item)
            self._pending_numel += queued
            if len(self._pending) >= self.flush_count or self._pending_numel >= FLUSH_NUMEL:
                self._flush()
            if hold and ptr:
                self._last, self._last_ptr, self._last_numel = grad, ptr, numel
                self._last_number = number
        return number

    def _sketch_one(self, grad: torch.Tensor, numel: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Not under ``torch.no_grad()``, whose entry and exit cost more than both kernels:
        the caller passes a gradient that carries no graph."""
        norm = torch.linalg.vector_norm(grad, dtype=_NORM_DTYPE.get(grad.dtype))
        return norm, torch.take(grad, _sample_index(numel, grad.device))

    def flush(self) -> None:
        """Compute the sketches still queued (somebody reading)."""
        with self._lock:
            self._flush()

    def finish(self) -> None:
        """The pass is over: compute what is queued, and let go of the last gradient."""
        with self._lock:
            try:
                self._flush()
            finally:
                self._last, self._last_ptr = None, -1

    def _flush(self) -> None:
        items, self._pending, self._pending_numel = self._pending, [], 0
        if not items:
            return
        self._starts.append(self._count - len(items))
        try:
            self._batches.append(self._compute(items))
        except Exception:
            self._batches.append(None)  # their sketches read as lost, not as others' numbers
            raise
        finally:
            if self._reached is not None:
                self.flush_count = batch_size(self._nodes, self._reached())

    @torch.no_grad()  # under create_graph=True the gradients carry a graph: build none on them
    def _compute(self, items: list) -> tuple[list[int], list, list, list[int]]:
        # Small gradients of one layout, dtype and device (a model has few) are sketched
        # together as the rows of a matrix (mixed layouts would make stack copy slowly);
        # large ones, already sketched, are stacked.
        groups: dict[tuple, list[int]] = {}
        for i, item in enumerate(items):
            if type(item) is tuple:
                key = (None, None, item[1].dtype, item[1].device)
            else:
                key = (item.shape, item.stride(), item.dtype, item.device)
            groups.setdefault(key, []).append(i)
        firsts, norms, samples, row_of = [], [], [], [0] * len(items)
        first = 0
        for (shape, _, _, _), members in groups.items():
            same = [items[i] for i in members]
            if shape is not None:
                n, s = self._sketch_rows(same)
            else:
                n = torch.stack([norm for norm, _ in same])
                s = torch.stack([sample for _, sample in same])
            firsts.append(first)
            norms.append(n)
            samples.append(s)
            for row, i in enumerate(members, first):
                row_of[i] = row
            first += len(members)
        # One tensor each for the batch's norms and samples, where they can be (one device,
        # no complex among real): a tensor per group cost 4.7 MB more peak memory at 20,000
        # nodes.
        if len({(n.device, s.is_complex()) for n, s in zip(norms, samples)}) == 1:
            firsts, norms, samples = [0], [torch.cat(norms)], [torch.cat(samples)]
        return firsts, norms, samples, row_of

    def _sketch_rows(self, grads: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """Small gradients: copied into the rows of one matrix, then one kernel for all their
        norms and one for all their samples."""
        # stack keeps a layout its inputs share (channels-last, say): reshape, not view
        rows = torch.stack(grads).reshape(len(grads), -1)
        norms = torch.linalg.vector_norm(rows, dim=1, dtype=_NORM_DTYPE.get(rows.dtype))
        return norms, rows.index_select(1, _sample_index(rows.shape[1], rows.device))

    def sketch(self, number: int) -> tuple[torch.Tensor, torch.Tensor] | None:
        """(exact norm, strided sample) of gradient ``number``; the sample repeats its last
        element when the gradient has fewer than ``SKETCH_SIZE``. None if its batch failed."""
        if self._pending:
            self.flush()
        batch = bisect.bisect_right(self._starts, number) - 1
        if self._batches[batch] is None:
            return None
        firsts, norms, samples, row_of = self._batches[batch]
        row = row_of[number - self._starts[batch]]
        part = bisect.bisect_right(firsts, row) - 1
        return norms[part][row - firsts[part]], samples[part][row - firsts[part]]

    def snapshot(self, number: int, shape, dtype: str, device: str) -> Snapshot | None:
        """The snapshot of gradient ``number``, whose metadata the graph knows."""
        sketch = self.sketch(number)
        return None if sketch is None else Snapshot.from_sketch(*sketch, shape, dtype, device)


@functools.lru_cache(maxsize=256)
def _sample_index(n: int, device: torch.device) -> torch.Tensor:
    """SKETCH_SIZE evenly strided positions; under SKETCH_SIZE elements (a tiny ``cap``) the
    last one repeats. Cached for the process: a model has few gradient sizes, and building
    them anew for each pass cost a thousand-node graph 2% of its backward."""
    index = (torch.arange(SKETCH_SIZE) * max(1, n // SKETCH_SIZE)).clamp_max_(n - 1)
    return index.to(device)


def _same_memory(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Whether ``a`` and ``b``, which start at the same address and have as many elements,
    hold the same ones: same dtype and device, and both dense (a permutation of a contiguous
    layout). A dense tensor's first element is its lowest address, so both cover the same
    bytes. Half the hooks of a transformer ask this, so it is kept to a few attribute reads."""
    return a.dtype is b.dtype and a.device == b.device and _dense(a) and _dense(b)


def _dense(t: torch.Tensor) -> bool:
    """Whether ``t``'s elements fill a block of memory without gaps or overlaps."""
    return t.is_contiguous() or _dense_layout(t.shape, t.stride())


@functools.lru_cache(maxsize=1024)
def _dense_layout(shape: torch.Size, stride: tuple[int, ...]) -> bool:
    """Cached: a model hands on the same few transposed layouts again and again, and sorting
    their strides in every hook cost a narrow transformer 0.1x of its backward."""
    expected = 1
    for step, size in sorted((st, sz) for st, sz in zip(stride, shape) if sz != 1):
        if step != expected:
            return False
        expected *= size
    return True


#: Norms of half-precision gradients are taken in float32: in their own dtype they overflow
#: to inf (a false alarm) once a gradient scaled by GradScaler has a few thousand elements.
_NORM_DTYPE = {torch.float16: torch.float32, torch.bfloat16: torch.float32}
