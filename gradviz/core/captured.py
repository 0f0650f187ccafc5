"""What a backward pass captured, as the graph reads it: one interface, two kinds.

:class:`~gradviz.core.hooks.Capture` fills it from hooks while autograd runs;
:class:`~gradviz.core.loaded.LoadedCapture` holds what a saved session read back.
"""

from __future__ import annotations

from abc import ABC, abstractmethod


class Captured(ABC):
    """Gradients by node id and output number, and the order backward reached the nodes."""

    def __init__(self, cap: int | None = None):
        #: Gradients over ``cap`` elements were summarised (None: a memory budget decided).
        self.cap = cap
        #: Nodes whose gradients are kept whole whatever their size and the budget.
        self.keep_full: set[int] = set()
        #: The flows along edges (:class:`~gradviz.core.flows.FlowStore`), None: not captured
        self.flows = None
        self._order_index: dict[int, int] | None = None

    @property
    @abstractmethod
    def ran(self) -> bool:
        """Whether a backward pass was captured."""

    @abstractmethod
    def _reached(self):
        """The node ids reached, in order (a sized iterable that may grow while hooks run)."""

    @abstractmethod
    def snapshots(self, nid: int, meta: tuple) -> tuple:
        """A Snapshot (or None) per output of ``nid``; empty when nothing reached it.
        ``meta`` gives each output's (shape, dtype, device)."""

    @abstractmethod
    def why_summarised(self) -> str:
        """Why a gradient was kept only as a summary, and how to keep it whole."""

    @property
    def order(self) -> list[int]:
        """Node ids in the order the backward pass reached them."""
        return list(self._reached())

    def order_of(self, nid: int) -> int | None:
        if self._order_index is None or len(self._order_index) != len(self._reached()):
            # a copy: list() takes the dict's keys in one step, even while hooks add to it
            self._order_index = {n: i for i, n in enumerate(self.order)}
        return self._order_index.get(nid)
