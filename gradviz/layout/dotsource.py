"""A scene as DOT text, through the ``graphviz`` package, deterministic byte for byte.

Everything is emitted in a fixed order (clusters parents first, nodes by key order, edges in
the graph's edge order) and no attribute depends on a dict of unknown order, so the same
graph gives the same text: that is what golden-file tests compare.
"""

from __future__ import annotations

import graphviz

from gradviz.core.collapse import module_key

from .scene import Scene
from .style import text_on, theme as get_theme

FONT = "Helvetica"
FONTSIZE = 11


def node_name(key) -> str:
    """``n12`` for node 12, ``m.h.0`` for the collapsed module ``h.0`` (no ``:``, which DOT
    would read as a port in an edge)."""
    return f"n{key}" if isinstance(key, int) else "m." + key.removeprefix(module_key(""))


def key_of(name: str):
    """Inverse of :func:`node_name`."""
    return int(name[1:]) if name[0] == "n" else module_key(name[2:])


def cluster_name(path: str) -> str:
    return f"cluster:{path}"


def _label(lines: list[str]) -> str:
    return "\\n".join(line.replace("\\", "\\\\") for line in lines)


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '\\"') + '"'


def _node_line(name: str, box, default: dict) -> str:
    """One node statement with only what differs from the default node (an op box): most
    nodes carry just a label. Written directly rather than through ``Digraph.node``, whose
    general quoting costs more than the layout itself on a small graph; every value is
    quoted, labels keep their ``\\n`` escapes."""
    attrs = {"label": _label(box.lines), "shape": box.shape, "fillcolor": box.fill,
             "color": box.border, "fontcolor": box.text}
    if box.pen != 1.0:
        attrs["penwidth"] = f"{box.pen:g}"
    text = " ".join(f"{k}={_quoted(v)}" for k, v in attrs.items() if default.get(k) != v)
    return f"\t{_quoted(name)} [{text}]\n"


def to_dot(scene: Scene, theme: str = "light", settings: dict | None = None) -> str:
    """DOT source for ``scene``; ``settings`` are extra graph attributes (see strategy)."""
    th = get_theme(theme)
    g = graphviz.Digraph("gradviz")
    g.attr(rankdir="TB", bgcolor=th.background, fontname=FONT, fontcolor=th.ink,
           nodesep="0.25", ranksep="0.35", **(settings or {}))
    default = {"shape": "box", "fillcolor": th.fills["op"], "color": th.ink,
               "fontcolor": text_on(th.fills["op"])}
    g.attr("node", style="filled", fontname=FONT, fontsize=str(FONTSIZE), margin="0.1,0.04",
           height="0.3", **default)
    g.attr("edge", arrowsize="0.7", color=th.edge)

    by_cluster: dict[str | None, list] = {}
    for key, box in scene.nodes.items():
        by_cluster.setdefault(box.cluster, []).append(key)
    children: dict[str | None, list[str]] = {}
    for path in scene.clusters:
        children.setdefault(scene.parents[path], []).append(path)

    def emit(sub, path: str | None) -> None:
        for key in by_cluster.get(path, ()):
            sub.body.append(_node_line(node_name(key), scene.nodes[key], default))
        for child in children.get(path, ()):
            with sub.subgraph(name=cluster_name(child)) as c:
                c.attr(label=child, style="rounded,filled", fillcolor=th.cluster_fill,
                       color=th.cluster_border, fontsize="10", labeljust="l")
                emit(c, child)

    emit(g, None)
    for edge in scene.edges:
        marked = f' [color="{edge.color}" penwidth={edge.pen:g}]' if edge.mark else ""
        g.body.append(f"\t{_quoted(node_name(edge.src))} -> {_quoted(node_name(edge.dst))}"
                      f"{marked}\n")
    return g.source

