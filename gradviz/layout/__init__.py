"""A view model -> plain geometry (Qt-free): where every node, edge and module box goes.

``layout`` decides positions (Graphviz ``dot`` in a subprocess, or the layered layout for
huge graphs and when Graphviz is missing; repeated blocks laid out once per distinct
structure, see :mod:`.blocks`) and styles; ``restyle`` changes only the styles
(player state, colouring, theme) and keeps every position, so stepping through a pass never
runs ``dot`` again. In ``values`` mode a node's box is sized with its gradient shown, and a
gradient the player has not reached yet reads ``grad ?``: the size never changes.

Both take a :class:`gradviz.core.viewmodel.ViewModel`, or a graph and the public keyword
options (``collapsed``, ``labels``, ``color_by``, ``theme``, ``state``) that make one. The
model's folded view is worked out once and every step of the layout reads it.

Both run in a worker thread in the app: ``progress(stage, fraction)`` reports, and
``should_stop()`` returning True raises :class:`Cancelled`.
"""

from __future__ import annotations

from gradviz.core.graph import GradGraph
from gradviz.core.viewmodel import ViewModel

from . import blocks, cache, edgelabels, strategy
from .dotsource import to_dot
from gradviz.core.keys import BoxKind, module_key

from .geometry import ClusterBox, EdgePath, Layout, NodeBox
from .graphviz_errors import INSTALL_HINT, Cancelled, GraphvizFailed, GraphvizMissing
from .graphviz_run import DEFAULT_TIMEOUT, run_graphviz
from .layered import layered_layout
from .parse import to_layout
from .scene import Scene, build
from .style import theme as get_theme

__all__ = ["Cancelled", "ClusterBox", "EdgePath", "GraphvizMissing", "Layout", "NodeBox",
           "ViewModel", "layout", "model_of", "module_key", "restyle", "scene_of"]


def model_of(subject: GradGraph | ViewModel, collapsed=frozenset(), labels: str = "compact",
             color_by=None, theme: str = "light", state=None) -> ViewModel:
    """``subject`` if it is a view model, else the model of the graph with these options."""
    if isinstance(subject, ViewModel):
        return subject
    return ViewModel.of(subject, collapsed=collapsed, labels=labels, color_by=color_by,
                        theme=theme, state=state)


def scene_of(subject: GradGraph | ViewModel, collapsed=frozenset(), labels="compact",
             color_by=None, theme="light", state=None) -> Scene:
    return build(model_of(subject, collapsed, labels, color_by, theme, state))


def _dress(layout: Layout, model: ViewModel) -> Layout:
    th = get_theme(model.theme)
    layout.model = model
    layout.background, layout.ink = th.background, th.ink
    for c in layout.clusters:
        c.fill, c.border = th.cluster_fill, th.cluster_border
    return layout


def _place(scene: Scene, theme: str, timeout: float, progress, should_stop) -> Layout:
    repeated = blocks.find_blocks(scene)
    engine, settings = ("blocks", {}) if repeated else strategy.choose(scene)
    digest = cache.structure_hash(scene, engine, settings)
    placed = cache.get(digest)
    if placed is not None:
        return cache.adopt(placed, scene)
    if repeated:
        distinct = len({b.signature for b in repeated})
        progress(f"{len(repeated)} repeated blocks, {distinct} distinct: laying out each once",
                 0.1)
        result = blocks.block_layout(scene, repeated, lambda sub, pinned: _lay(
            sub, strategy.choose(sub), theme, timeout, progress, should_stop, pinned))
    else:
        result = _lay(scene, (engine, settings), theme, timeout, progress, should_stop)
    edgelabels.place(result)
    cache.put(digest, result)
    return result


def _lay(scene: Scene, chosen: tuple[str, dict], theme: str, timeout: float, progress,
         should_stop, pinned=None) -> Layout:
    """``dot``, or the layered layout when ``strategy.choose`` said so (``chosen``), or dot
    is missing or fails."""
    engine, settings = chosen
    warnings = []
    result = None
    if engine == "dot":
        progress(f"dot: laying out {len(scene.nodes)} nodes", 0.1)
        try:
            source = to_dot(scene, theme, settings, sized=True, pinned=pinned)
            out = run_graphviz(source, "json0", timeout=timeout, should_stop=should_stop)
            result = to_layout(out, scene)
        except GraphvizMissing:
            warnings.append(INSTALL_HINT + " Showing a simple layered layout meanwhile.")
        except GraphvizFailed as err:
            warnings.append(f"{err}; showing the layered layout instead.")
    if result is None:
        progress(f"layered layout of {len(scene.nodes)} nodes", 0.1)
        result = layered_layout(scene, should_stop)
    result.warnings += warnings
    return result


def layout(subject: GradGraph | ViewModel, *, collapsed=frozenset(), labels: str = "compact",
           color_by: str | None = None, theme: str = "light", state=None,
           timeout: float = DEFAULT_TIMEOUT, progress=None, should_stop=None) -> Layout:
    """Positions and styles of a view model, or of a graph drawn with the modules in
    ``collapsed`` folded (the keyword options are then the model's; see :func:`model_of`).

    Node keys are graph node ids, and ``module_key(path)`` for collapsed modules. For the
    first picture of a big recorded graph pass ``gradviz.core.collapse.default_collapsed``.
    ``labels``: "compact" | "full" | "values"; ``color_by``: None | "grad_norm" | "memory" |
    "diff"; ``state``: ``{"current": key, "done": keys, "show_grad": keys or None, "flowed":
    edge numbers or None}`` for the player (``gradviz.core.steps.Steps.state``).
    """
    model = model_of(subject, collapsed, labels, color_by, theme, state)
    report = progress or (lambda stage, fraction: None)
    report("building the scene", 0.0)
    scene = build(model)
    result = _place(scene, model.theme, timeout, report, should_stop)
    report("laid out", 1.0)
    return _dress(result, model)


_SAME = "same"


def restyle(placed: Layout, subject: GradGraph | ViewModel, *, state=None, color_by=_SAME,
            theme: str | None = None) -> Layout:
    """``placed`` with new styles and the same positions. ``subject``: the new view model
    (its graph, folding and labels must be ``placed``'s), or the graph with a new player
    ``state`` (colouring and theme stay as they were unless given)."""
    if isinstance(subject, ViewModel):
        model = subject
    else:
        model = placed.model.changed(
            graph=subject, state=state, theme=theme or placed.theme,
            colouring=placed.model.colouring if color_by == _SAME else color_by)
    scene = build(model)
    if _relabelled(placed, scene):
        return layout(model)
    result = cache.adopt(cache.placement(placed), scene)
    return _dress(result, model)


def _relabelled(placed: Layout, scene: Scene) -> bool:
    """Whether a folded box's text changed (the memory colouring writes a module's total in
    its label), so that the old box would no longer hold it. A node's text changes with the
    player's state too, but its box is sized for every state (see :mod:`.labels`)."""
    return any(box.kind == BoxKind.MODULE and box.lines != placed.nodes[key].lines
               for key, box in scene.nodes.items())
