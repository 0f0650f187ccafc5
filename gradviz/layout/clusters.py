"""Which ``nn.Module`` boxes are drawn: only modules contiguous in the data flow
(``gradviz.core.contiguous``). ``dot`` answers a cluster that is not contiguous by turning
edges upward; such a module gets no box, and its nodes belong to the nearest enclosing
module that has one.
"""

from __future__ import annotations

from gradviz.core.collapse import prefixes
from gradviz.core.contiguous import contiguous_modules


def drawable(modules: dict, edges: list) -> tuple[dict, dict]:
    """``modules``: visible key -> module path (None at top level).

    Returns (each key's innermost drawable module or None, each drawable module's nearest
    drawable ancestor or None).
    """
    ok = contiguous_modules(modules, edges)

    def innermost(chain: list[str]):
        return next((p for p in reversed(chain) if p in ok), None)

    inside = {key: innermost(prefixes(path)) if path else None for key, path in modules.items()}
    parents = {p: innermost(prefixes(p)[:-1]) for p in ok}
    return inside, parents
