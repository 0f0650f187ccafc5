"""What is drawn, before anything is placed: one styled box per visible key, clusters, edges.

Both layout engines (Graphviz and the layered one) start from this, and ``restyle`` redoes
only this step, so the look of a node is decided in exactly one place.
"""

from __future__ import annotations

from dataclasses import dataclass

from gradviz.core.collapse import View
from gradviz.core.contiguous import prefixes
from gradviz.core.diff import diff_of
from gradviz.core.graph import GradGraph
from gradviz.core.keys import BoxKind, ModuleKey, NodeKey, RunKey, parse_key
from gradviz.core.viewmodel import Colouring, ViewModel

from . import diffstyle, edgeflows, labels as label_text, memory_fill
from .clusters import drawable
from .geometry import EdgePath, NodeBox
from .style import SHAPES, NormScale, grad_fill, text_on, theme as get_theme

@dataclass
class Scene:
    nodes: dict  # key -> NodeBox, positions still zero
    edges: list[EdgePath]  # no points yet
    clusters: dict[str, int]  # module path -> depth (0 = top level), parents first
    parents: dict[str, str | None]  # module path -> the drawn module around it
    legend: list[tuple[str, str]]


def _grad_stats(graph: GradGraph, nid: int):
    snap = graph.nodes[nid].grad_snapshot
    return (snap.stats or None) if snap is not None else None  # {}: a meta tensor's grad


def _module_stats(graph: GradGraph, nids: list[int]):
    """A collapsed module is as healthy as its worst member, with its largest norm."""
    stats = [s for s in (_grad_stats(graph, n) for n in nids) if s is not None]
    if not stats:
        return None
    return {"nan": sum(s["nan"] for s in stats), "inf": sum(s["inf"] for s in stats),
            "norm": max(s["norm"] for s in stats)}


def _stats_by_key(graph: GradGraph, view: View) -> dict:
    """Gradient stats per visible key. Reading them costs a reduction per tensor (seconds at
    100,000 nodes), so only the grad-norm colouring asks for them."""
    if not graph.has_grads:
        return {}
    return {key: (_grad_stats(graph, key) if isinstance(parse_key(key), NodeKey)
                  else _module_stats(graph, view.members[key])) for key in view.keys}


def node_cluster(graph: GradGraph, view: View, key) -> str | None:
    """Module path of the innermost cluster around ``key`` (None at top level)."""
    match parse_key(key):
        case RunKey():
            return view.runs[key].parent or None
        case ModuleKey(path):
            return path.rpartition(".")[0] or None
    return graph.cols.module[key] or None


def _box(graph: GradGraph, view: View, key, mode: str, show_grad: bool) -> NodeBox:
    typed = parse_key(key)
    if not isinstance(typed, NodeKey):
        run = view.runs.get(key)
        paths = run.paths if run else [typed.path]
        members = view.members[key]
        ops = [n for n in members if graph.cols.kind[n] != "leaf"]
        boxes = set(paths)
        glue = sum(1 for n in ops if boxes.isdisjoint(prefixes(graph.cols.module[n] or "")))
        lines = (label_text.run_lines(run.title, (len(ops) - glue) // run.count, glue) if run
                 else label_text.module_lines(paths[0], len(ops), glue))
        return NodeBox(key, 0, 0, 0, 0, lines, BoxKind.MODULE, SHAPES["module"],
                       members=len(members))
    kind = BoxKind(graph.cols.kind[key])
    return NodeBox(key, 0, 0, 0, 0, label_text.node_lines(graph, key, mode, show_grad), kind,
                   SHAPES[kind])


#: The colourings this layout draws; a new one adds its fill here (see docs/architecture.md).
DRAWN = (Colouring.NONE, Colouring.HEALTH, Colouring.MEMORY, Colouring.DIFF)


def build(model: ViewModel) -> Scene:
    """The model's picture before placement, from its folded view (worked out once)."""
    graph, view, labels = model.graph, model.folded, model.labels
    label_text.check_mode(labels)
    if model.colouring not in DRAWN:
        raise ValueError(f"the {model.colouring.name.lower()} colouring is not drawn yet")
    th = get_theme(model.theme)
    state = model.state
    current = state.current if state else None
    done = state.done if state else frozenset()
    show_grad = state.show_grad if state else None
    marked = {view.key_of[n] for n in model.marked if n < len(view.key_of)}
    coloured = model.colouring is Colouring.HEALTH
    stats = _stats_by_key(graph, view) if coloured else {}
    scale = NormScale(s["norm"] for s in stats.values() if s) if coloured else None
    compared = model.colouring is Colouring.DIFF
    if compared:
        diff = diff_of(graph)
        ratios = diffstyle.key_ratios(diff, view, model.diff_measure)
        width = diffstyle.span(ratios.values())
    memory = model.colouring is Colouring.MEMORY
    saved = memory_fill.saved_by_key(graph, view) if memory else {}
    bytes_scale = memory_fill.scale_of(saved) if memory else None

    nodes = {}
    for key in view.keys:
        box = _box(graph, view, key, labels, show_grad is None or key in show_grad)
        if memory:
            box.fill = memory_fill.memory_fill(saved.get(key), bytes_scale, th.muted)
            if box.kind == BoxKind.MODULE:
                box.lines = memory_fill.module_label(box.lines, saved.get(key))
        else:
            box.fill = grad_fill(stats.get(key), scale, th.muted) if scale else th.fills[box.kind]
        box.border = th.ink
        if compared:
            box.fill = diffstyle.fill(ratios[key], width, th.muted)
            if ratios[key] in ("a", "b"):
                box.border, box.pen = diffstyle.ONLY_BORDER[ratios[key]], diffstyle.ONLY_PEN
        box.text = text_on(box.fill)
        box.cluster = node_cluster(graph, view, key)
        if key in marked:  # a diagnosis points here; the player's marks, when on, win
            box.mark, box.border, box.pen = "marked", th.marked, 3.0
        if key in done:
            box.mark, box.border, box.pen = "done", th.done, 2.0
        if key == current:
            box.mark, box.border, box.pen = "current", th.current, 3.0
        nodes[key] = box

    flow_text = (edgeflows.labels(graph, view, state.flowed if state else None)
                 if labels == "values" else {})
    flow_pen = edgeflows.widths(graph, view) if coloured else {}
    edges = []
    for src, dst in view.edges:
        text, sent = flow_text.get((src, dst), (None, False))
        edge = EdgePath(src, dst, [], None, th.edge, flow_pen.get((src, dst), 1.0),
                        label=text if sent else None, flow=text)
        if dst == current:  # the edges that carry the current node's gradient to its inputs
            edge.mark, edge.color, edge.pen = "current", th.current, 2.5
        edges.append(edge)

    inside, parents = drawable({k: b.cluster for k, b in nodes.items()}, view.edges,
                               {k for k, b in nodes.items() if b.kind == "leaf"})
    for key, path in inside.items():
        nodes[key].cluster = path
    legend = scale.legend(th.muted) if scale is not None else []
    if compared:
        legend = diffstyle.legend(width, diff.names, th.muted)
    if memory:
        legend = memory_fill.legend(saved, bytes_scale, th.muted)
    return Scene(nodes, edges, _depths(parents), parents, legend)


def _depths(parents: dict) -> dict[str, int]:
    """Module path -> nesting depth among the drawn boxes (0: outermost), parents first."""
    def depth(path):
        return 0 if parents[path] is None else 1 + depth(parents[path])

    found = {p: depth(p) for p in parents}
    return dict(sorted(found.items(), key=lambda kv: (kv[1], kv[0])))
