"""A tensor copied off its device, summarised, and safe to keep after the graph is gone.

Taking a snapshot must be cheap because it happens inside backward hooks and forward
recording: small tensors are cloned as they are, large ones keep only a handful of
reductions and a strided sample. On a GPU the reductions stay device-side until somebody
reads :attr:`Snapshot.stats` (turning them into Python numbers synchronises); on the CPU,
where reading costs nothing, they are read at once, and the NaN/Inf masking is paid only
by a tensor that holds some (:func:`_host_stats`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

from .viewstats import ViewStats, elements

#: Elements a snapshot keeps whole by default. Gradients are kept whole within a memory
#: budget instead (:mod:`gradviz.core.budget`), unless ``trace(..., cap=...)`` asks for the
#: older rule: whole up to ``cap`` elements, a sketch above.
DEFAULT_CAP = 64
#: Forward values kept whole by ``record()``; larger ones keep exact stats and a sample.
RECORD_CAP = 1024
#: Elements kept from a large tensor for its histogram (exact stats come with it).
SAMPLE_SIZE = 256
#: Elements kept by the backward hook's sketch, which must cost almost nothing.
SKETCH_SIZE = 32
HIST_BINS = 32
#: Elements above which a tensor's zeros are counted without a temporary tensor.
BIG = 1 << 16

STAT_KEYS = ("min", "max", "mean", "std", "norm", "nan", "inf", "zeros")


def _as_real(t: torch.Tensor) -> torch.Tensor:
    """Complex tensors are summarised by magnitude; ints and bools as float64."""
    if t.is_complex():
        return t.abs().double()
    if not t.is_floating_point():
        return t.double()
    return t


def _reductions(t: torch.Tensor) -> torch.Tensor:
    """All stats as one small tensor on ``t``'s device: no host sync, one transfer later."""
    r = _as_real(t.detach()).reshape(-1)
    if r.dtype not in (torch.float32, torch.float64):
        r = r.float()
    finite = torch.isfinite(r)
    nan = torch.isnan(r).sum(dtype=torch.float64)
    count = finite.sum(dtype=torch.float64)
    inf = r.numel() - count - nan
    clean = torch.where(finite, r, 0)
    total = clean.sum(dtype=torch.float64)
    mean = total / count
    centred = torch.where(finite, r - mean.to(r.dtype), 0)
    std = (centred.square().sum(dtype=torch.float64) / count).sqrt()
    norm = clean.square().sum(dtype=torch.float64).sqrt()
    mn = torch.where(finite, r, math.inf).amin() if r.numel() else total * math.nan
    mx = torch.where(finite, r, -math.inf).amax() if r.numel() else total * math.nan
    # a tensor without finite values has no min/max: inf from the fill reads as nan
    mn, mx = (torch.where(count > 0, v.double(), math.nan) for v in (mn, mx))
    zeros = (r == 0).sum(dtype=torch.float64) / max(r.numel(), 1)
    return torch.stack([mn, mx, mean, std, norm, nan, inf, zeros])


def _host_stats(t: torch.Tensor) -> dict | None:
    """The stats of a CPU tensor in five passes over it instead of :func:`_reductions`' twenty:
    the masks and float64 copies that keep NaN and Inf out of the sums cost a recorded
    transformer's forward 6x its own time. On the CPU, reading the min and max to learn
    whether there are NaN or Inf costs nothing (on a GPU it would stall the stream): only then
    are they counted, and the stats taken over the finite values picked out. None when a
    float32 sum overflows: :func:`_reductions` sums in float64."""
    r = _as_real(t.detach())
    if r.dim() != 1:
        r = r.reshape(-1)
    if r.dtype not in (torch.float32, torch.float64):
        r = r.float()
    n = r.numel()
    lo, hi = torch.aminmax(r)
    lo, hi = lo.item(), hi.item()
    nan = inf = 0
    if not (math.isfinite(lo) and math.isfinite(hi)):  # NaN propagates; Inf is the min or max
        finite = torch.isfinite(r)
        if math.isnan(lo) or math.isnan(hi):  # else no NaN: a masked attention's -inf
            nan = int(torch.isnan(r).sum())
        r = r.masked_select(finite)  # half the time of r[finite]
        inf = n - nan - r.numel()
        if r.numel() == 0:
            return {"min": math.nan, "max": math.nan, "mean": math.nan, "std": math.nan,
                    "norm": 0.0, "nan": nan, "inf": inf, "zeros": 0.0}
        lo, hi = torch.aminmax(r)
        lo, hi = lo.item(), hi.item()
    count = r.numel()
    mean = r.sum().item() / count
    norm = torch.linalg.vector_norm(r).item()
    var = norm * norm / count - mean * mean
    # Cancellation costs the difference at most a factor 2 of the norm's precision while the
    # mean is no larger than the spread; otherwise a centred pass.
    std = (math.sqrt(var) if var >= mean * mean
           else torch.linalg.vector_norm(r - mean).item() / math.sqrt(count))
    if count > BIG:  # no temporary: a large one is a fresh allocation the OS pages in
        nonzero = torch.count_nonzero(r).item()
    else:  # float32 counts ones exactly below 2**24 and is 3x faster than a float64 sum
        nonzero = r.sign().abs_().sum().item()
    stats = {"min": lo, "max": hi, "mean": mean, "std": std, "norm": norm, "nan": nan,
             "inf": inf, "zeros": (count - nonzero) / n}
    return stats if all(map(math.isfinite, (mean, std, norm))) else None


def _sample(t: torch.Tensor, size: int = SAMPLE_SIZE) -> torch.Tensor:
    flat = t.detach()
    if flat.dim() != 1:
        flat = flat.reshape(-1)
    step = max(1, flat.numel() // size)
    return flat[:step * size:step].clone()  # one slice: the first ``size`` of every step-th


def dense(t: torch.Tensor) -> bool:
    """Whether ``t`` has values to copy as a strided block: not meta, sparse or nested, not
    a subclass without storage (fake tensors, which also refuse ordinary tensors), and not a
    tensor whose storage was freed under it (FSDP resizes an unsharded parameter's storage
    to 0 once forward is done: reading it raises)."""
    if t.is_meta or t.layout != torch.strided or t.is_nested:
        return False
    if t.numel() == 0:
        return True
    try:
        storage = t.untyped_storage()
        if type(t) in (torch.Tensor, torch.nn.Parameter):
            return storage.nbytes() > 0
        return storage.data_ptr() != 0
    except (RuntimeError, NotImplementedError):
        return False


def _shape(t: torch.Tensor) -> tuple[int, ...]:
    """``t``'s sizes; -1 where a nested tensor's size varies between its components."""
    sizes = []
    for d in range(t.dim()):
        try:
            sizes.append(int(t.size(d)))
        except (RuntimeError, TypeError, ValueError, AttributeError):  # a ragged size
            sizes.append(-1)
    return tuple(sizes)


@dataclass
class Snapshot:
    """Shape, dtype and device of a tensor, its data when small, its stats always."""

    shape: tuple[int, ...]
    dtype: str
    device: str
    data: torch.Tensor | None = None  # full CPU copy, only under the cap
    _reduced: torch.Tensor | None = field(default=None, repr=False)  # exact stats, on device
    _sample: torch.Tensor | None = field(default=None, repr=False)
    _norm: torch.Tensor | None = field(default=None, repr=False)  # exact norm of a sketch
    _stats: dict | None = field(default=None, repr=False)

    @classmethod
    def of(cls, tensor: torch.Tensor, cap: int = DEFAULT_CAP,
           views: ViewStats | None = None) -> "Snapshot":
        """``views``: the stats of values snapshotted just before, which a view of them
        takes instead of reading the same values again (``record()``'s)."""
        t = tensor.detach()
        if not dense(t):
            snap = cls(_shape(t), str(t.dtype).removeprefix("torch."), str(t.device))
            if t.layout != torch.strided and not t.is_nested and not t.is_meta \
                    and snap.numel <= cap:
                snap.data = t.to_dense().cpu()  # a small sparse tensor, kept as its values
            return snap
        snap = cls(tuple(t.shape), str(t.dtype).removeprefix("torch."), str(t.device))
        if t.numel() <= cap:
            # clone, not .cpu(): on CPU .cpu() would alias memory that in-place ops change
            snap.data = t.clone() if t.device.type == "cpu" else t.to("cpu", non_blocking=True)
        else:
            flat = t.reshape(-1)  # once: a transposed value (attention's q, k, v) copies here
            if t.device.type == "cpu":
                key = elements(t) if views is not None else None
                snap._stats = views.get(key) if key is not None else None
                if snap._stats is None:
                    snap._stats = _host_stats(flat)
                    if snap._stats is not None and key is not None:
                        views.put(key, tensor, snap._stats)
            if snap._stats is None:
                snap._reduced = _reductions(flat)
            snap._sample = _sample(flat)
        return snap

    @classmethod
    def whole(cls, t: torch.Tensor) -> "Snapshot":
        """``t`` kept whole as it is (a backward hook already cloned it); no copy but to
        the CPU, and only the shape and dtype of a tensor without data."""
        if not dense(t):
            return cls.of(t, cap=math.inf)
        snap = cls(tuple(t.shape), str(t.dtype).removeprefix("torch."), str(t.device))
        snap.data = t if t.device.type == "cpu" else t.cpu()
        return snap

    @classmethod
    def from_sketch(cls, norm: torch.Tensor, sample: torch.Tensor, shape, dtype: str,
                    device: str) -> "Snapshot":
        """A gradient a backward hook saw as its exact norm and a strided sample (see
        :class:`~gradviz.core.sketchbook.SketchBook`)."""
        snap = cls(tuple(shape), dtype, device)
        if dense(norm):  # a meta gradient's sketch holds no numbers either
            snap._norm, snap._sample = norm, sample[:snap.numel]
        return snap

    @classmethod
    def from_parts(cls, shape, dtype, device, data=None, stats=None, sample=None) -> "Snapshot":
        """Rebuild a snapshot read from a saved session."""
        return cls(tuple(shape), dtype, device, data=data, _sample=sample, _stats=stats)

    @property
    def numel(self) -> int:
        return math.prod(self.shape)

    @property
    def has_values(self) -> bool:
        """False for a tensor without readable data (meta, fake, nested, large sparse):
        it keeps its shape and dtype, and its stats are empty."""
        return bool(self._stats) or any(x is not None for x in (self.data, self._reduced,
                                                                 self._sample))

    @property
    def stats(self) -> dict:
        """min, max, mean, std, norm over finite values; nan/inf counts; fraction of zeros.

        For a sketch, everything but the norm comes from the sample (``"sampled": True``);
        NaN/Inf counts are then at least 1 whenever the exact norm says there are some.
        """
        if self._stats is None and not self.has_values:
            return {}
        if self._stats is None:
            source = self._reduced if self._reduced is not None else _reductions(
                self.data if self.data is not None else self._sample)
            stats = dict(zip(STAT_KEYS, source.cpu().tolist()))
            stats["nan"], stats["inf"] = int(stats["nan"]), int(stats["inf"])
            if self._norm is not None:
                self._refine_from_norm(stats, self._norm.item())
            self._stats, self._reduced = stats, None
        return self._stats

    @property
    def norm(self) -> float | None:
        """The norm over finite values (None: no values), in one reduction where the other
        stats were not taken yet: health mode's edge widths read thousands of them and no
        other stat (the full stats cost twenty passes, :func:`_reductions`)."""
        if self._stats is None and self.data is not None:
            norm = torch.linalg.vector_norm(_as_real(self.data.detach())).item()
            if math.isfinite(norm):  # else NaN/Inf or an overflow: the stats leave them out
                return norm
        return self.stats.get("norm")

    def _refine_from_norm(self, stats: dict, norm: float) -> None:
        scale = self.numel / max(1, self._sample.numel())
        stats["sampled"] = True
        stats["nan"], stats["inf"] = round(stats["nan"] * scale), round(stats["inf"] * scale)
        if math.isnan(norm):
            stats["nan"] = max(1, stats["nan"])
        elif math.isinf(norm) and not stats["nan"]:
            stats["inf"] = max(1, stats["inf"])
        stats["norm"] = norm

    @property
    def sample(self) -> torch.Tensor:
        """The values a histogram is drawn from: all of them, or a strided sample."""
        if self._sample is None:
            if self.data is None:
                return None
            self._sample = _sample(self.data)
        return self._sample.cpu()

    def histogram(self, bins: int = HIST_BINS) -> tuple[list[int], list[float]]:
        """Counts and bin edges over the finite values (of the sample when summarised)."""
        if self.sample is None:
            return [], []
        values = _as_real(self.sample).double().reshape(-1)
        values = values[torch.isfinite(values)]
        if values.numel() == 0:
            return [], []
        lo, hi = values.min().item(), values.max().item()
        if lo == hi:
            lo, hi = lo - 0.5, hi + 0.5
        counts = torch.histc(values, bins=bins, min=lo, max=hi)
        edges = torch.linspace(lo, hi, bins + 1, dtype=torch.float64)
        return [int(c) for c in counts.tolist()], edges.tolist()

    @property
    def has_nonfinite(self) -> bool:
        s = self.stats
        return bool(s.get("nan") or s.get("inf"))

    def tolist(self):
        """Nested Python lists (complex as ``[re, im]``), or None when summarised."""
        if self.data is None:
            return None
        d = self.data
        if d.is_complex():
            d = torch.view_as_real(d.resolve_conj())
        if d.dtype in (torch.bfloat16, torch.float16) or str(d.dtype).startswith("torch.float8"):
            d = d.float()
        return d.tolist()
