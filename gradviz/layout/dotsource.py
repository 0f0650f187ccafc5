"""A scene as DOT text, through the ``graphviz`` package, deterministic byte for byte.

Everything is emitted in a fixed order (clusters parents first, nodes by key order, edges in
the graph's edge order) and no attribute depends on a dict of unknown order, so the same
graph gives the same text: that is what golden-file tests compare.

``sized=True`` is the text handed to ``dot`` for a layout: every label becomes an empty box of
the text's size (:mod:`.textsize`), which saves ``dot`` starting its font system; the
positions only need sizes, and the text is drawn by us. The ``.dot`` export keeps the text.
"""

from __future__ import annotations

import math

import graphviz

from gradviz.core.keys import BoxKind, ModuleKey, NodeKey, RunKey, parse_key

from .drawspec import ARROW_SIZE, CLUSTER_FONTSIZE, EDGE_FONTSIZE, FONT, FONTSIZE
from .scene import Scene
from .style import text_on, theme as get_theme
from .textsize import text_size


def node_name(key) -> str:
    """``n12`` for node 12, ``m.h.0`` for the collapsed module ``h.0``, ``r.h.0..h.11`` for a
    folded run of blocks (no ``:``, which DOT would read as a port in an edge)."""
    match parse_key(key):
        case NodeKey(nid):
            return f"n{nid}"
        case RunKey(name):
            return f"r.{name}"
        case ModuleKey(path):
            return f"m.{path}"


def key_of(name: str):
    """Inverse of :func:`node_name`, given the name as Graphviz reports it (see _escaped)."""
    if name[0] == "n":
        return int(name[1:])
    path = _unescaped(name[2:])
    return (ModuleKey(path) if name[0] == "m" else RunKey(path)).raw


def cluster_name(path: str) -> str:
    return f"cluster:{path}"


def cluster_path(name: str) -> str:
    """Inverse of :func:`cluster_name`, given the name as Graphviz reports it."""
    return _unescaped(name.removeprefix("cluster:"))


def _escaped(text: str) -> str:
    """``text`` for inside a DOT quoted string. DOT keeps a backslash that no quote follows,
    so one at the end (an ``nn.ModuleDict`` key may end in one) would escape the closing
    quote: every backslash is doubled, which labels show as one and names keep doubled.
    A NUL character, which ends Graphviz's strings, becomes U+FFFD."""
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\0", "\ufffd")


def _unescaped(name: str) -> str:
    """A name as written to DOT, from the name Graphviz reports (backslashes still doubled)."""
    return name.replace("\\\\", "\\")


def _label(lines: list[str]) -> str:
    """The quoted label of ``lines``, one below the other."""
    return '"' + "\\n".join(map(_escaped, lines)) + '"'


def _placeholder(lines: list[str], fontsize: float) -> str:
    """An HTML label that is only an empty box of the size ``lines`` would take: ``dot`` sizes
    the node around it as around text (margins, ellipse) without measuring any font."""
    return _empty_table(*text_size(lines, fontsize))


def _empty_table(width: float, height: float) -> str:
    if not width:
        return '""'
    return ('<<table border="0" cellborder="0" cellpadding="0" cellspacing="0" fixedsize="true" '
            f'width="{math.ceil(width)}" height="{math.ceil(height)}"><tr><td></td></tr></table>>')


def _quoted(text: str) -> str:
    return f'"{_escaped(text)}"'


def _node_line(name: str, box, default: dict, sized: bool) -> str:
    """One node statement with only what differs from the default node (an op box): most
    nodes carry just a label. Written directly rather than through ``Digraph.node``, whose
    general quoting costs more than the layout itself on a small graph; every value is
    quoted, labels keep their ``\\n`` escapes. ``sized``: only what decides the node's size."""
    attrs = {"shape": box.shape}
    if not sized:
        attrs.update(fillcolor=box.fill, color=box.border, fontcolor=box.text)
        if box.pen != 1.0:
            attrs["penwidth"] = f"{box.pen:g}"
    if box.kind == BoxKind.BLOCK:  # a placed block (see .blocks): exactly its given size
        label, attrs["margin"] = _empty_table(box.width, box.height), "0"
    else:
        label = _placeholder(box.lines, FONTSIZE) if sized else _label(box.lines)
    text = " ".join([f"label={label}"] + [f"{k}={_quoted(v)}" for k, v in attrs.items()
                                          if default.get(k) != v])
    return f"\t{_quoted(name)} [{text}]\n"


def to_dot(scene: Scene, theme: str = "light", settings: dict | None = None,
           sized: bool = False, pinned: dict | None = None) -> str:
    """DOT source for ``scene``; ``settings`` are extra graph attributes (see strategy).

    ``sized``: the source for a layout (see above): labels as boxes of their text's size and
    no colours or fonts, which ``dot`` would only parse and echo back in its output.
    ``pinned``: cluster path -> (keys on its top row, keys on its bottom row)."""
    th = get_theme(theme)
    g = graphviz.Digraph("gradviz")
    look = {} if sized else {"bgcolor": th.background, "fontname": FONT, "fontcolor": th.ink}
    g.attr(**{"rankdir": "TB", "nodesep": "0.25", "ranksep": "0.35", **look, **(settings or {})})
    default = {"shape": "box"}
    node_look = {} if sized else {"style": "filled", "fontname": FONT}
    if not sized:
        default.update(fillcolor=th.fills["op"], color=th.ink, fontcolor=text_on(th.fills["op"]))
    g.attr("node", fontsize=str(FONTSIZE), margin="0.1,0.04", height="0.3", **node_look,
           **default)
    g.attr("edge", arrowsize=f"{ARROW_SIZE:g}", **({} if sized else {"color": th.edge}))

    by_cluster: dict[str | None, list] = {}
    for key, box in scene.nodes.items():
        by_cluster.setdefault(box.cluster, []).append(key)
    children: dict[str | None, list[str]] = {}
    for path in scene.clusters:
        children.setdefault(scene.parents[path], []).append(path)

    cluster_style = "" if sized else (
        f'color={_quoted(th.cluster_border)} fillcolor={_quoted(th.cluster_fill)} '
        f'fontsize={CLUSTER_FONTSIZE} ')
    cluster_look = "" if sized else ' labeljust=l style="rounded,filled"'

    def emit(body: list, path: str | None, indent: str) -> None:
        """Clusters written as text like the nodes: ``Digraph.subgraph`` re-quotes and
        re-indents every nested line, which cost a small graph more than the rest."""
        for key in by_cluster.get(path, ()):
            body.append(indent[1:] + _node_line(node_name(key), scene.nodes[key], default, sized))
        for child in children.get(path, ()):
            label = _placeholder([child], CLUSTER_FONTSIZE) if sized else _quoted(child)
            body.append(f"{indent}subgraph {_quoted(cluster_name(child))} {{\n{indent}\t"
                        f"{cluster_style}label={label}{cluster_look}\n")
            for rank, keys in zip(("min", "max"), (pinned or {}).get(child, ((), ()))):
                if keys:
                    names = "; ".join(_quoted(node_name(k)) for k in keys)
                    body.append(f"{indent}\t{{rank={rank}; {names}}}\n")
            emit(body, child, indent + "\t")
            body.append(f"{indent}}}\n")

    emit(g.body, None, "\t")
    for edge in scene.edges:
        marked = (f' [color="{edge.color}" penwidth={edge.pen:g}]' if edge.mark and not sized
                  else f" [label={_placeholder([edge.flow], EDGE_FONTSIZE)}]"
                  if sized and edge.flow else "")
        g.body.append(f"\t{_quoted(node_name(edge.src))} -> {_quoted(node_name(edge.dst))}"
                      f"{marked}\n")
    return g.source

