"""Everything that decides the picture, in one immutable value: the view model.

napari's ``ViewerModel`` is the pattern: the model holds the state, the window observes it.
A :class:`ViewModel` says which graph (or backward pass) is shown, which modules and runs of
blocks are folded, the label mode, the colouring, the theme, the selection, the player's
step and the nodes a diagnosis points at. ``gradviz.layout`` lays it out, the exporters and
the CLI write it, and the app's window holds one and swaps it for a changed copy
(``ViewModel.changed``) in one method.
Being frozen, the same value can go to a background job while the window moves on.

The folded view (which node is drawn in which box) is worked out once per model, on first
use, and carried over to a changed copy whose graph and folding are the same.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from enum import StrEnum
from functools import cached_property

from .collapse import View, view
from .errors import GradvizError
from .graph import GradGraph
from .keys import Key


class Colouring(StrEnum):
    """How boxes are filled. ``HEALTH`` is the gradient-norm colouring (spelled
    ``color_by="grad_norm"`` in the public API); ``MEMORY`` the bytes saved for backward
    (``color_by="memory"``); ``DIFF`` draws two passes compared (the union graph of
    :func:`gradviz.core.diff.compare`, by ``ViewModel.diff_measure``); ``FLOWS`` is reserved
    (flows are drawn on the edges of the other colourings)."""

    NONE = "none"
    HEALTH = "grad_norm"
    MEMORY = "memory"
    FLOWS = "flows"
    DIFF = "diff"

    @classmethod
    def of(cls, color_by) -> Colouring:
        """The colouring for the public ``color_by`` spelling (None, "grad_norm", "memory")."""
        if isinstance(color_by, Colouring):
            return color_by
        if color_by is None:
            return cls.NONE
        if color_by in ("grad_norm", "memory", "diff"):
            return cls(color_by)
        raise UnknownColouring(f"unknown colouring {color_by!r}; use None, 'grad_norm', "
                               "'memory' or 'diff' (on a graph of two passes compared)")

    @property
    def color_by(self) -> str | None:
        """The public spelling: None for no colouring."""
        return None if self is Colouring.NONE else self.value


class UnknownColouring(GradvizError, ValueError):
    """A ``color_by`` that no colouring answers to."""


@dataclass(frozen=True)
class PlayerState:
    """The lecture player's step in the keys of the picture as drawn (see
    ``gradviz.core.steps.on_view``): the current box, the boxes done before it, the boxes
    whose gradient may be shown (None: every one) and the edges (numbers in ``graph.edges``)
    whose flow has been sent, so values mode labels them (None: every one). ``step`` tells two steps apart that look
    the same folded (both inside one box): each is still a new picture to follow."""

    current: Key | None = None
    done: frozenset = frozenset()
    show_grad: frozenset | None = None
    step: int | None = None
    flowed: frozenset | None = None

    @classmethod
    def of(cls, state) -> PlayerState | None:
        """``state`` as a PlayerState: a dict as ``Steps.state``/``on_view`` give, or None."""
        if state is None or isinstance(state, PlayerState):
            return state
        show, flowed = state.get("show_grad"), state.get("flowed")
        return cls(state.get("current"), frozenset(state.get("done") or ()),
                   None if show is None else frozenset(show), state.get("step"),
                   None if flowed is None else frozenset(flowed))


#: The fields whose change moves boxes (a new layout); any other change only restyles.
PLACING = frozenset({"graph", "collapsed", "labels"})


@dataclass(frozen=True, eq=False)
class ViewModel:
    graph: GradGraph | None = None  # None: nothing open (the app's gallery)
    collapsed: frozenset = frozenset()  # module paths and core.runs.Run: the folded boxes
    labels: str = "compact"  # "compact" | "full" | "values"
    colouring: Colouring = Colouring.NONE
    theme: str = "light"
    selection: Key | None = None
    state: PlayerState | None = None
    #: Graph node ids a diagnosis points at ("show me"); drawn wherever they are folded.
    marked: frozenset = frozenset()
    diff_measure: str = "grad"  # the diff colouring compares "grad" or "value" norms

    def __post_init__(self):
        object.__setattr__(self, "collapsed", frozenset(self.collapsed or ()))
        object.__setattr__(self, "marked", frozenset(self.marked or ()))
        object.__setattr__(self, "colouring", Colouring.of(self.colouring))
        object.__setattr__(self, "state", PlayerState.of(self.state))

    @classmethod
    def of(cls, graph: GradGraph | None, *, collapsed=frozenset(), labels: str = "compact",
           color_by=None, theme: str = "light", state=None) -> ViewModel:
        """The model for the public keyword spelling of ``layout`` and ``export``."""
        return cls(graph, collapsed, labels, Colouring.of(color_by), theme, None, state)

    def changed(self, **changes) -> ViewModel:
        """A copy with ``changes``; the folded view comes along while graph and folding stay."""
        new = replace(self, **changes)
        if new.graph is self.graph and new.collapsed == self.collapsed and "folded" in vars(self):
            vars(new)["folded"] = self.folded
        return new

    def differs(self, other: ViewModel) -> set[str]:
        """The names of the fields in which ``other`` differs from this model."""
        return {f.name for f in fields(self)
                if getattr(self, f.name) is not getattr(other, f.name)
                and getattr(self, f.name) != getattr(other, f.name)}

    @property
    def color_by(self) -> str | None:
        return self.colouring.color_by

    @cached_property
    def folded(self) -> View:
        """The graph as drawn with ``collapsed`` folded: computed once, every reader shares it."""
        if self.graph is None:
            raise GradvizError("no graph is shown, so nothing is folded")
        return view(self.graph, self.collapsed)
