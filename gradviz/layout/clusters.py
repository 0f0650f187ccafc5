"""Which ``nn.Module`` boxes are drawn: only modules contiguous in the data flow
(``gradviz.core.contiguous``). ``dot`` answers a cluster that is not contiguous by turning
edges upward; such a module gets no box, and its nodes belong to the nearest enclosing
module that has one.

Parameters and other leaves are drawn beside their module's box, not in it, in a picture
that one ``dot`` run lays out: ``dot`` drifts each box that holds sources to the side of the
one before, and a recorded ResNet-18 came out as a staircase 7,900 pt wide and 4,700 pt
tall (2,100 pt wide with its weights outside). A bigger picture is laid out block by block
(:mod:`.blocks`), and there a block keeps its weights. A module that holds no op, only
parameters (all a graph traced without ``gradviz.record()`` knows of modules), gets no box
at all: 113 such boxes kept ``dot`` past 60 s on a 488-node ViT that lays out in 0.1 s
without them.
"""

from __future__ import annotations

from gradviz.core.collapse import prefixes
from gradviz.core.contiguous import contiguous_modules

#: Pictures with fewer visible nodes are laid out by one ``dot`` run; :mod:`.blocks` lays
#: bigger ones out one distinct block at a time.
ONE_DOT_RUN_BELOW = 300


def drawable(modules: dict, edges: list, leaves=frozenset()) -> tuple[dict, dict]:
    """``modules``: visible key -> module path (None at top level); ``leaves``: the keys
    that are leaf tensors, which go beside the boxes below ``ONE_DOT_RUN_BELOW`` keys and
    otherwise only into a module that also holds an op.

    Returns (each key's innermost drawable module or None, each drawable module's nearest
    drawable ancestor or None).
    """
    with_ops: set[str] = set()  # small picture: every leaf beside the boxes
    if len(modules) >= ONE_DOT_RUN_BELOW:
        with_ops = {p for key, path in modules.items() if path and key not in leaves
                    for p in prefixes(path)}

    def home(key, path):
        if key not in leaves or not path:
            return path
        return next((p for p in reversed(prefixes(path)) if p in with_ops), None)

    modules = {key: home(key, path) for key, path in modules.items()}
    ok = contiguous_modules(modules, edges)

    def innermost(chain: list[str]):
        return next((p for p in reversed(chain) if p in ok), None)

    inside = {key: innermost(prefixes(path)) if path else None for key, path in modules.items()}
    parents = {p: innermost(prefixes(p)[:-1]) for p in ok}
    return inside, parents
