"""Layout geometry as plain data: what Graphviz decided, in screen units, y pointing down.

The app draws these records as Qt items and the exporters write them to files; neither
needs to know how they were computed (Graphviz ``dot``, a cached layout, or the layered
fallback). Units are Graphviz points (1/72 inch); the y-flip happens once, in the parser.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# A visible node is a graph node id (int), a folded module or run (see gradviz.core.keys).
from gradviz.core.keys import BoxKind, Key
from gradviz.core.viewmodel import ViewModel



@dataclass
class NodeBox:
    key: Key
    x: float  # centre
    y: float
    width: float
    height: float
    lines: list[str]  # label text, one entry per line
    kind: BoxKind  # a StrEnum: equal to "op", "leaf", "output", "module", "block", ...
    shape: str = "box"  # "box" | "ellipse" | "octagon" | "folder" ...: as in the DOT source
    fill: str = "#ffffff"
    border: str = "#000000"
    text: str = "#000000"
    cluster: str | None = None  # module path of the innermost cluster holding it
    pen: float = 1.0  # border width in points
    mark: str | None = None  # player state "current" | "done", a diagnosis' "marked" | None
    members: int = 0  # for a collapsed module: how many graph nodes it holds

    @property
    def rect(self) -> tuple[float, float, float, float]:
        """(left, top, width, height)."""
        return self.x - self.width / 2, self.y - self.height / 2, self.width, self.height



@dataclass
class EdgePath:
    src: Key
    dst: Key
    points: list[tuple[float, float]]  # cubic B-spline control points: p0, (c1, c2, p)*
    arrow: tuple[tuple[float, float], tuple[float, float]] | None = None  # (base, tip)
    color: str = "#000000"
    pen: float = 1.0
    mark: str | None = None  # "current" when it carries the current node's gradient
    label: str | None = None  # values mode: the gradient it carried back, once it was sent
    #: values mode: that flow's text, sent yet or not: the room its label keeps (see flow_box)
    flow: str | None = None
    #: (left, top, width, height) of the flow's label beside the edge, clear of every box and
    #: other label (dot's own edge label, or :mod:`.edgelabels`); kept while the label waits
    #: to be sent, so labels never move from one player step to the next
    flow_box: tuple[float, float, float, float] | None = None

    @property
    def label_at(self) -> tuple[float, float] | None:
        """Where its label's text starts (left end, vertical centre); None: no label drawn."""
        if not self.label or self.flow_box is None:
            return None
        left, top, _, height = self.flow_box
        return left, top + height / 2


@dataclass
class ClusterBox:
    path: str  # module path
    x: float  # left
    y: float  # top
    width: float
    height: float
    label: str
    depth: int = 0
    fill: str = "#ffffff"
    border: str = "#000000"


@dataclass
class Layout:
    nodes: dict[Key, NodeBox] = field(default_factory=dict)
    edges: list[EdgePath] = field(default_factory=list)
    clusters: list[ClusterBox] = field(default_factory=list)
    width: float = 0.0
    height: float = 0.0
    engine: str = "dot"  # what produced it: "dot", "layered", "dot+blocks" (see blocks.py) ...
    warnings: list[str] = field(default_factory=list)
    legend: list[tuple[str, str]] = field(default_factory=list)  # (colour, text), for colour modes
    #: What it draws and how; ``restyle`` swaps it for one that moves nothing.
    model: ViewModel = field(default_factory=ViewModel)
    background: str = "#ffffff"
    ink: str = "#000000"  # colour of cluster titles, title and legend text

    @property
    def labels(self) -> str:
        return self.model.labels

    @property
    def collapsed(self) -> frozenset:
        return self.model.collapsed

    @property
    def theme(self) -> str:
        return self.model.theme

    @property
    def color_by(self) -> str | None:
        return self.model.color_by

    @property
    def key_of(self) -> list:
        """Per graph node id, the key that draws it (itself, or the folded box that holds it)."""
        return self.model.folded.key_of if self.model.graph is not None else []
