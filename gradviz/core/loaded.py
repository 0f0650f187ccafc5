"""A graph read back from a saved session: plain columns and snapshots, no autograd."""

from __future__ import annotations

from .captured import Captured
from .graph import Columns, GradGraph
from .snapshot import Snapshot


class LoadedCapture(Captured):
    """What the saved pass captured: its run order and a snapshot per output."""

    def __init__(self, cap: int | None, order: list[int], snaps: dict[int, tuple],
                 ran: bool | None = None):
        super().__init__(cap)
        self._order = list(order)
        self._snaps: dict[int, tuple[Snapshot | None, ...]] = dict(snaps)
        # older sessions did not write "ran": a pass ran if it reached a node
        self._ran = bool(order) or bool(snaps) if ran is None else ran

    @property
    def ran(self) -> bool:
        return self._ran

    def _reached(self):
        return self._order

    def snapshots(self, nid: int, meta: tuple) -> tuple:
        return self._snaps.get(nid, ())

    def why_summarised(self) -> str:
        return "the saved session holds only its summary"


class LoadedGraph(GradGraph):
    """Every column filled from the file; no tensor of it leads back to autograd."""

    capture: LoadedCapture

    def __init__(self, cols: Columns, edges: list[tuple[int, int, int]], capture: LoadedCapture):
        super().__init__(capture, capture.cap)
        self.cols = cols
        self.edges = edges
        self.index: dict = {}
        self.leaf_index: dict = {}
