"""GradGraph -> plain geometry (Qt-free): where every node, edge and module box goes.

``layout`` decides positions (Graphviz ``dot`` in a subprocess, or the layered layout for
huge graphs and when Graphviz is missing; repeated blocks laid out once per distinct
structure, see :mod:`.blocks`) and styles; ``restyle`` changes only the styles
(player state, colouring, theme) and keeps every position, so stepping through a pass never
runs ``dot`` again. In ``values`` mode a node's box is sized with its gradient shown, and a
gradient the player has not reached yet reads ``grad ?``: the size never changes.

Both run in a worker thread in the app: ``progress(stage, fraction)`` reports, and
``should_stop()`` returning True raises :class:`Cancelled`.
"""

from __future__ import annotations

from gradviz.core.collapse import view
from gradviz.core.graph import GradGraph

from . import blocks, cache, strategy
from .dotsource import to_dot
from .geometry import ClusterBox, EdgePath, Layout, NodeBox, module_key
from .graphviz_run import (DEFAULT_TIMEOUT, INSTALL_HINT, Cancelled, GraphvizFailed,
                           GraphvizMissing, run_graphviz)
from .layered import layered_layout
from .parse import to_layout
from .scene import Scene, build
from .style import theme as get_theme

__all__ = ["Cancelled", "ClusterBox", "EdgePath", "GraphvizMissing", "Layout", "NodeBox",
           "layout", "module_key", "restyle", "scene_of"]


def scene_of(graph: GradGraph, collapsed=frozenset(), labels="compact", color_by=None,
             theme="light", state=None) -> Scene:
    return build(graph, view(graph, frozenset(collapsed)), labels, theme, color_by, state)


def _dress(layout: Layout, collapsed, labels, color_by, theme, key_of: list) -> Layout:
    th = get_theme(theme)
    layout.collapsed, layout.labels, layout.color_by, layout.theme = (
        frozenset(collapsed), labels, color_by, theme)
    layout.key_of = key_of
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


def layout(graph: GradGraph, *, collapsed=frozenset(), labels: str = "compact",
           color_by: str | None = None, theme: str = "light", state=None,
           timeout: float = DEFAULT_TIMEOUT, progress=None, should_stop=None) -> Layout:
    """Positions and styles of ``graph`` as drawn with the modules in ``collapsed`` folded.

    Node keys are graph node ids, and ``module_key(path)`` for collapsed modules. For the
    first picture of a big recorded graph pass ``gradviz.core.collapse.default_collapsed``.
    ``labels``: "compact" | "full" | "values"; ``color_by``: None | "grad_norm";
    ``state``: ``{"current": key, "done": keys, "show_grad": keys or None}`` for the player.
    """
    report = progress or (lambda stage, fraction: None)
    report("building the scene", 0.0)
    shown = view(graph, frozenset(collapsed))
    scene = build(graph, shown, labels, theme, color_by, state)
    result = _place(scene, theme, timeout, report, should_stop)
    report("laid out", 1.0)
    return _dress(result, collapsed, labels, color_by, theme, shown.key_of)


_SAME = "same"


def restyle(placed: Layout, graph: GradGraph, *, state=None, color_by=_SAME,
            theme: str | None = None) -> Layout:
    """``placed`` with new styles (player state, colouring, theme) and the same positions;
    colouring and theme stay as they were unless given."""
    theme = theme or placed.theme
    color_by = placed.color_by if color_by == _SAME else color_by
    scene = scene_of(graph, placed.collapsed, placed.labels, color_by, theme, state)
    result = cache.adopt(cache.placement(placed), scene)
    return _dress(result, placed.collapsed, placed.labels, color_by, theme, placed.key_of)
