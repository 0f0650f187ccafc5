"""What every traced pass of a run leaves behind once its graph is dropped: a few numbers per
node, matched across passes by a key that survives a change of shape.

A row per pass and a column per node key, in numpy arrays of :data:`CHUNK` rows: a float32
gradient norm and value norm, uint16 NaN and Inf counts of the gradient (65,535 means at
least that many) and a presence flag: 13 bytes per node per pass (20,000 nodes traced 10,000
times: 2.6 GB). A chunk is as wide as the keys seen when it was filled; a key first seen later
(a branch the data took only now) is absent from the rows before it. Past a cap on memory,
full chunks go to the run file being written (:mod:`.spill`) and are read back from there.

Node keys (:func:`node_keys`): a leaf by its name (``fc.weight``), any other node by its
module path, source line, kind and op, and its place among the nodes sharing those, in walk
order. A branch taken in some passes only adds or removes its own keys and leaves the others'
alone, as long as it has a line of its own (recorded runs); without ``record()`` there is no
module or line, and the key is the op and its place in the whole graph's walk order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from .snapshot import Snapshot, dense

#: Rows allocated at a time: at most this many passes' worth of memory is unused.
CHUNK = 64
_COUNT_MAX = np.iinfo(np.uint16).max
#: (name, dtype, fill where a node is absent) of each per-node array.
FIELDS = (("grad_norm", np.float32, np.nan), ("value_norm", np.float32, np.nan),
           ("nan", np.uint16, 0), ("inf", np.uint16, 0), ("present", np.bool_, False))
#: Bytes kept per node per pass.
BYTES_PER_NODE = sum(np.dtype(t).itemsize for _, t, _ in FIELDS)


def node_keys(graph) -> list[str]:
    """A key per node id that names the same node in another pass of the same model."""
    c = graph.cols
    seen: dict[str, int] = {}
    keys = []
    for nid, kind in enumerate(c.kind):
        name = c.name[nid]
        if kind == "leaf" and name:
            base = f"leaf {name}"
        else:
            base = f"{kind} {c.op[nid]} @{c.module[nid] or ''} {c.source[nid] or ''}"
        n = seen[base] = seen.get(base, -1) + 1
        keys.append(f"{base} #{n}")
    return keys


@dataclass
class NodeHistory:
    """One node's figures, one entry per traced pass (oldest first); NaN where it was absent."""

    key: str
    passes: np.ndarray  # the backward call each pass was (1 = the first)
    loss: np.ndarray  # the traced output's value (NaN unless it held one number)
    global_norm: np.ndarray  # all leaf gradients of the pass together; NaN if one held NaN/Inf
    grad_norm: np.ndarray
    value_norm: np.ndarray
    nan: np.ndarray  # NaN values in the node's gradient
    inf: np.ndarray
    present: np.ndarray  # whether the node was in that pass's graph


@dataclass
class PassHistory:
    """The figures of each traced pass as a whole (oldest first): what a timeline plots."""

    passes: np.ndarray  # the backward call each pass was (1 = the first)
    loss: np.ndarray
    global_norm: np.ndarray
    nonfinite: np.ndarray  # whether any gradient of the pass held a NaN or an Inf


def _stats(snap) -> dict:
    return snap.stats if snap is not None else {}


def _whole(tensor) -> bool:
    """Whether one norm op reads this tensor (a snapshot's stats take a dozen, or none where
    it has no values to read: see ``snapshot.dense``)."""
    return tensor is not None and (tensor.is_floating_point() or tensor.is_complex()) \
        and dense(tensor)


def _norms(tensors: list) -> list[float]:
    """The norm of each tensor, one device-to-host copy per device."""
    out = [math.nan] * len(tensors)
    by_device: dict = {}
    for i, t in enumerate(tensors):
        by_device.setdefault(t.device, []).append(i)
    for where in by_device.values():
        norms = torch.stack([torch.linalg.vector_norm(tensors[i].detach()).double()
                             for i in where]).tolist()
        for i, n in zip(where, norms):
            out[i] = n
    return out


def _count(value) -> int:
    return min(int(value or 0), _COUNT_MAX)


class History:
    """Per-node summaries of every pass added, with no graph kept alive.

    With a ``spill`` (:class:`~gradviz.core.spill.ChunkFile`: the run file) and
    ``max_bytes``, the full chunks go to the file whenever the arrays in memory would pass
    ``max_bytes``; :meth:`of` reads them back from there."""

    def __init__(self, spill=None, max_bytes: int | None = None):
        self.keys: dict[str, int] = {}  # node key -> column
        self.passes: list[int] = []
        self.loss: list[float] = []
        self.global_norm: list[float] = []
        self.nonfinite: list[bool] = []  # a byte per pass, so a timeline never scans the nodes
        self._chunks: list[dict[str, np.ndarray] | None] = []  # None: in the spill file
        self.spill, self.max_bytes = spill, max_bytes

    @classmethod
    def restored(cls, keys: list[str], passes: list[int], loss: list[float],
                 global_norm: list[float], chunks: list[dict[str, np.ndarray]]) -> History:
        """A history read back from a run file (checked there: one chunk per CHUNK passes);
        each pass's NaN/Inf flag is read off its row's counts, as :meth:`add` set it."""
        history = cls()
        history.keys = {k: i for i, k in enumerate(keys)}
        history.passes, history.loss = list(passes), list(loss)
        history.global_norm, history._chunks = list(global_norm), list(chunks)
        history.nonfinite = [bool(c["nan"][p % CHUNK].any() or c["inf"][p % CHUNK].any())
                             for p in range(len(passes)) for c in (chunks[p // CHUNK],)]
        return history

    def __len__(self) -> int:
        return len(self.passes)

    @property
    def nbytes(self) -> int:
        """Bytes held in memory by the per-node arrays (allocated, used or not)."""
        return sum(a.nbytes for chunk in self._chunks if chunk is not None
                   for a in chunk.values())

    def chunk(self, i: int) -> dict[str, np.ndarray]:
        """Rows ``i * CHUNK`` on, from memory or from the spill file."""
        chunk = self._chunks[i]
        return chunk if chunk is not None else self.spill.read(i)

    @property
    def chunks(self) -> int:
        return len(self._chunks)

    def _spill_if_full(self, width: int) -> None:
        """Before a new chunk: send the full ones to the spill file if memory would pass
        ``max_bytes`` with it."""
        if self.spill is None or self.max_bytes is None:
            return
        if self.nbytes + CHUNK * width * BYTES_PER_NODE <= self.max_bytes:
            return
        for i, chunk in enumerate(self._chunks):
            if chunk is not None:
                self.spill.write(i, chunk)
                self._chunks[i] = None

    def add(self, graph, keys: list[str], index: int, loss: float) -> None:
        """Summarise ``graph`` (after its backward ran) as pass number ``index``."""
        columns = [self.keys.setdefault(k, len(self.keys)) for k in keys]
        row = self._row()
        cols = np.asarray(columns, dtype=np.intp)
        grad = np.full(len(keys), np.nan, np.float64)
        value = np.full(len(keys), np.nan, np.float64)
        nan = np.zeros(len(keys), np.int64)
        inf = np.zeros(len(keys), np.int64)
        # A whole tensor's norm is one op; a snapshot's stats (NaN and Inf counts, the norm
        # of the finite values) only where it is not finite, or not whole.
        quick, slow = [], []  # (array, nid, tensor), (array, nid, snapshot)
        for nid, node in enumerate(graph.nodes):
            g = node.grad_snapshot
            if g is not None and _whole(g.data):
                quick.append((grad, nid, g.data))
            else:
                slow.append((grad, nid, g))
            tensor = node.tensor
            if tensor is None:
                v = node.value_snapshot
                tensor = v.data if v is not None else None
            if _whole(tensor):
                quick.append((value, nid, tensor))
            else:
                slow.append((value, nid, node.value_snapshot))
        for (array, nid, tensor), norm in zip(quick, _norms([t for _, _, t in quick])):
            if math.isfinite(norm):
                array[nid] = norm
            else:
                slow.append((array, nid, Snapshot.of(tensor, 0)))
        for array, nid, snap in slow:
            stats = _stats(snap)
            array[nid] = stats.get("norm", math.nan)
            if array is grad:
                nan[nid], inf[nid] = _count(stats.get("nan")), _count(stats.get("inf"))
        chunk = self._chunks[-1]
        for name, array in (("grad_norm", grad), ("value_norm", value), ("nan", nan),
                            ("inf", inf)):
            chunk[name][row, cols] = array
        chunk["present"][row, cols] = True
        leaves = [nid for nid, kind in enumerate(graph.cols.kind) if kind == "leaf"]
        finite = grad[leaves][np.isfinite(grad[leaves])]
        self.passes.append(index)
        self.loss.append(loss)
        # NaN once a leaf gradient held NaN or Inf, as torch's clip_grad_norm_ reports it
        # (a node's own norm is that of its finite values, beside its NaN and Inf counts)
        self.global_norm.append(math.nan if not len(finite) or nan[leaves].any()
                                or inf[leaves].any() else float(np.sqrt(np.sum(finite ** 2))))
        self.nonfinite.append(bool(nan.any() or inf.any()))

    def figures(self) -> PassHistory:
        """Every pass's loss, global norm and NaN/Inf flag."""
        return PassHistory(np.asarray(self.passes, dtype=np.int64),
                           np.asarray(self.loss, dtype=np.float64),
                           np.asarray(self.global_norm, dtype=np.float64),
                           np.asarray(self.nonfinite, dtype=np.bool_))

    def _row(self) -> int:
        """The row the next pass goes in, its chunk wide enough for every key so far."""
        row = len(self.passes) % CHUNK
        width = len(self.keys)
        if row == 0:
            self._spill_if_full(width)
            self._chunks.append({name: np.full((CHUNK, width), fill, dtype)
                                 for name, dtype, fill in FIELDS})
        chunk = self._chunks[-1]
        have = chunk["present"].shape[1]
        if have < width:
            for name, dtype, fill in FIELDS:
                wider = np.full((CHUNK, width), fill, dtype)
                wider[:, :have] = chunk[name]
                chunk[name] = wider
        return row

    def of(self, key: str) -> NodeHistory:
        """The figures of the node with this key, one per pass."""
        if key not in self.keys:
            raise KeyError(f"no traced pass has a node {key!r}")
        col = self.keys[key]
        n = len(self.passes)
        parts = {name: np.full(n, fill, dtype) for name, dtype, fill in FIELDS}
        for i in range(len(self._chunks)):
            chunk = self.chunk(i)  # one read of a spilled chunk for every field
            for name, out in parts.items():
                rows = chunk[name][:min(CHUNK, n - i * CHUNK)]
                if col < rows.shape[1]:
                    out[i * CHUNK:i * CHUNK + len(rows)] = rows[:, col]
        return NodeHistory(key, np.asarray(self.passes), np.asarray(self.loss),
                           np.asarray(self.global_norm), **parts)
