"""A graph over live autograd Nodes: a trace, before and after its backward pass.

Columns, edges and leaves are read from the Nodes when first used, so tracing a big graph
costs little more than the bare ``grad_fn`` walk; shapes and saved tensors are read per node.
"""

from __future__ import annotations

from functools import cached_property

import torch

from . import internals
from .graph import Columns, GradGraph
from .hooks import Capture
from .saved import saved_tensors
from .walk import columns, edges_of, leaves_of

class LiveGraph(GradGraph):
    """Reads autograd while the Nodes live; ``capture`` hooks the next backward pass."""

    capture: Capture

    def __init__(self, fns: list, index: dict, outputs: int, capture: Capture, cap: int):
        super().__init__(capture, cap)
        self._fns, self.index, self._outputs = fns, index, outputs
        #: node id -> name, found by trace; applied when the columns are built
        self.names: dict[int, str] = {}

    @cached_property
    def cols(self) -> Columns:
        return columns(self._fns, self._outputs, self.names)

    @cached_property
    def edges(self) -> list[tuple[int, int, int]]:
        return edges_of(self._fns, self.index)

    @cached_property
    def leaf_index(self) -> dict:
        return leaves_of(self._fns)

    def meta(self, node_id: int) -> tuple:
        """(shape, dtype, device) per output, read from autograd lazily and kept."""
        meta = self.cols.meta[node_id]
        if meta is None:
            fn = self.cols.fn[node_id]
            if self.cols.kind[node_id] == "leaf":
                t = fn.variable
                meta = ((tuple(t.shape), str(t.dtype).removeprefix("torch."), str(t.device)),)
            else:
                meta = tuple(
                    (tuple(m.shape), str(m.dtype).removeprefix("torch."), str(m.device))
                    for m in internals.input_metadata(fn)
                )
            self.cols.meta[node_id] = meta
        return meta

    def sequence_nr(self, node_id: int) -> int | None:
        seq = self.cols.seq[node_id]
        if seq is None:
            seq = self.cols.seq[node_id] = internals.sequence_nr(self.cols.fn[node_id])
        return seq

    def saved_of(self, node_id: int) -> list[tuple[str, tuple | None, str | None]]:
        recorded = self.cols.saved[node_id]  # kept by gradviz.record(), else read now
        return recorded if recorded is not None else saved_tensors(self.cols.fn[node_id])

    def leaf_tensor(self, node_id: int) -> torch.Tensor | None:
        fn = self.cols.fn[node_id]
        return getattr(fn, "variable", None) if self.cols.kind[node_id] == "leaf" else None
