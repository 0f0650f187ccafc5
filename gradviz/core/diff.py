"""Two backward passes compared: nodes matched across passes, the log ratio of their norms.

    d = compare(run.passes[0], run.passes[-1])
    d.graph                     # the union graph: B's nodes, then those only A had
    d.ratio(nid, "grad")        # log10(|grad in B| / |grad in A|) of a union node
    d.only_a, d.only_b          # union node ids of the nodes one pass had and the other not
    d.biggest(10)               # the matched nodes whose norm changed most

Nodes are matched by the history's keys (:func:`~gradviz.core.history.node_keys`): a
parameter by its name, any other node by its module, source line, op and place. A branch
the data took in one pass only has keys the other lacks: its nodes are drawn once, in the
union graph, marked as present in one pass (``Change.where``), and attached to the matched
nodes they connect to. Shared nodes take B's data (the later pass, as a rule).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .errors import GradvizError
from .graph import Columns, GradGraph
from .history import node_keys
from .loaded import LoadedCapture, LoadedGraph

MEASURES = ("grad", "value")


class DiffError(GradvizError, ValueError):
    """Two graphs that cannot be compared, or a measure that is not one of MEASURES."""


def _norm(snap) -> float | None:
    """A snapshot's norm (of its finite values); None: no snapshot, no numbers in it, or a
    norm no tensor has (a damaged session's negative or NaN)."""
    if snap is None or not snap.stats:
        return None
    norm = snap.stats["norm"]
    return norm if norm >= 0 else None


def _finite(snap) -> bool:
    return snap is None or not snap.stats or not (snap.stats["nan"] or snap.stats["inf"])


def log_ratio(a: float | None, b: float | None) -> float:
    """log10(b / a); 0 for two zeros, +-inf where one is zero, NaN where one is missing."""
    if a is None or b is None or math.isnan(a) or math.isnan(b):
        return math.nan
    if a == 0 or b == 0:
        return 0.0 if a == b else (math.inf if b else -math.inf)
    return math.log10(b / a)


@dataclass(frozen=True)
class Change:
    """One node of the union graph: its key, its ids in A and in B, and its norms there."""

    key: str
    a: int | None  # node id in A; None: only in B
    b: int | None  # node id in B; None: only in A
    grad_a: float | None = None
    grad_b: float | None = None
    value_a: float | None = None
    value_b: float | None = None
    finite: bool = True  # no NaN or Inf in either gradient

    @property
    def where(self) -> str:
        """``"both"``, ``"a"`` (only in A) or ``"b"`` (only in B)."""
        return "both" if self.a is not None and self.b is not None else \
            ("a" if self.b is None else "b")

    def norms(self, measure: str) -> tuple[float | None, float | None]:
        return (self.grad_a, self.grad_b) if measure == "grad" else (self.value_a, self.value_b)

    def ratio(self, measure: str = "grad") -> float:
        return log_ratio(*self.norms(measure)) if self.where == "both" else math.nan


def check_measure(measure: str) -> str:
    if measure not in MEASURES:
        raise DiffError(f"unknown measure {measure!r}; compare 'grad' or 'value' norms")
    return measure


class DiffGraph(LoadedGraph):
    """The union of two passes' graphs, drawn by the diff colouring; ``diff`` says what
    each node was in each pass."""

    diff: "Diff"


@dataclass
class Diff:
    a: GradGraph
    b: GradGraph
    names: tuple[str, str]  # how the two passes are called: ("pass 3", "pass 5")
    changes: list[Change]  # by union node id
    graph: DiffGraph

    @property
    def only_a(self) -> list[int]:
        return [u for u, c in enumerate(self.changes) if c.where == "a"]

    @property
    def only_b(self) -> list[int]:
        return [u for u, c in enumerate(self.changes) if c.where == "b"]

    def ratio(self, nid: int, measure: str = "grad") -> float:
        return self.changes[nid].ratio(check_measure(measure))

    def biggest(self, count: int = 10, measure: str = "grad") -> list[int]:
        """Union ids of matched nodes by how much their norm changed (either way), largest
        first; nodes without a ratio (a norm missing) left out."""
        check_measure(measure)
        ranked = [(abs(c.ratio(measure)), u) for u, c in enumerate(self.changes)
                  if not math.isnan(c.ratio(measure))]
        return [u for _, u in sorted(ranked, key=lambda r: (-r[0], r[1]))[:count]]

    def to_dict(self, measure: str = "grad", count: int = 20) -> dict:
        """Plain data for ``--diff A:B -o d.json``: every node with both norms and the log10
        ratio of each measure (null where missing or infinite), and the biggest changes."""
        def number(x):
            return x if x is not None and math.isfinite(x) else None

        g = self.graph
        nodes = [{"id": u, "key": c.key, "in": c.where, "id_a": c.a, "id_b": c.b,
                  "kind": g.cols.kind[u], "op": g.cols.op[u], "name": g.cols.name[u],
                  "module": g.cols.module[u],
                  "grad_norm_a": number(c.grad_a), "grad_norm_b": number(c.grad_b),
                  "grad_log10_ratio": number(c.ratio("grad")),
                  "value_norm_a": number(c.value_a), "value_norm_b": number(c.value_b),
                  "value_log10_ratio": number(c.ratio("value")), "finite": c.finite}
                 for u, c in enumerate(self.changes)]
        return {"a": self.names[0], "b": self.names[1], "measure": measure, "nodes": nodes,
                "edges": sorted({(s, d) for s, d, _ in g.edges}),
                "only_a": self.only_a, "only_b": self.only_b,
                "biggest": self.biggest(count, measure)}


def _value_snapshots(graph: GradGraph, nid: int) -> tuple | None:
    snaps = graph.nodes[nid].value_snapshots
    return snaps if any(s is not None for s in snaps) else None


def compare(a: GradGraph, b: GradGraph, names: tuple[str, str] = ("A", "B")) -> Diff:
    """Pass ``a`` against pass ``b``: the union graph and each node's norms in both."""
    if not (a.has_grads and b.has_grads):
        which = names[0] if not a.has_grads else names[1]
        raise DiffError(f"{which} has no gradients: its backward pass did not run")
    keys_a, keys_b = node_keys(a), node_keys(b)
    in_b = {k: nid for nid, k in enumerate(keys_b)}
    in_a = {k: nid for nid, k in enumerate(keys_a)}
    # union ids: B's nodes keep theirs; A's own nodes follow, in A's order
    extra = [nid for nid, k in enumerate(keys_a) if k not in in_b]
    union_of_a = {nid: u for u, nid in enumerate(extra, start=len(b))}
    union_of_a.update({nid: in_b[k] for nid, k in enumerate(keys_a) if k in in_b})
    rows = [(b, nid) for nid in range(len(b))] + [(a, nid) for nid in extra]

    cols = Columns()
    snaps: dict[int, tuple] = {}
    for u, (g, nid) in enumerate(rows):
        c = g.cols
        cols.kind.append(c.kind[nid])
        cols.op.append(c.op[nid])
        cols.fn.append(None)
        cols.name.append(c.name[nid])
        cols.module.append(c.module[nid])
        cols.source.append(c.source[nid])
        cols.meta.append(g.meta(nid))
        cols.seq.append(c.seq[nid])
        cols.saved.append(list(g.saved_of(nid)))
        cols.values.append(_value_snapshots(g, nid))
        grads = g.nodes[nid].grad_snapshots
        if grads:
            snaps[u] = tuple(grads)
    shared = set(map(tuple, b.edges))
    edges = [tuple(e) for e in b.edges] + sorted(
        {(union_of_a[s], union_of_a[d], nr) for s, d, nr in a.edges
         if union_of_a[s] >= len(b) or union_of_a[d] >= len(b)} - shared)
    order = list(b.capture.order) + [union_of_a[n] for n in a.capture.order
                                     if union_of_a[n] >= len(b)]
    graph = DiffGraph(cols, edges, LoadedCapture(b.cap, order, snaps, True))
    graph.info = {"title": f"{names[0]} against {names[1]}"}

    changes = []
    for u, (g, nid) in enumerate(rows):
        key = keys_b[nid] if g is b else keys_a[nid]
        ia, ib = in_a.get(key), (nid if g is b else None)
        na = a.nodes[ia] if ia is not None else None
        nb = b.nodes[ib] if ib is not None else None
        changes.append(Change(
            key, ia, ib,
            _norm(na.grad_snapshot) if na else None, _norm(nb.grad_snapshot) if nb else None,
            _norm(na.value_snapshot) if na else None, _norm(nb.value_snapshot) if nb else None,
            all(_finite(n.grad_snapshot) for n in (na, nb) if n is not None)))
    diff = Diff(a, b, names, changes, graph)
    graph.diff = diff
    return diff


def diff_of(graph: GradGraph) -> Diff:
    """The comparison a union graph was made by; DiffError for any other graph."""
    diff = getattr(graph, "diff", None)
    if diff is None:
        raise DiffError("the diff colouring needs two passes compared (gradviz.core.diff."
                        "compare); this graph is one pass")
    return diff
