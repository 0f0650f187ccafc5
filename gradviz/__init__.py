"""gradviz: see how gradients flow through a PyTorch computation.

    g = gradviz.trace(S)   # before backward
    S.backward()
    g.find("Z").grad       # the gradient PyTorch did not keep
"""

from .core import (GradGraph, GradNode, GradvizError, GradvizWarning, SessionError, Snapshot,
                   SummarisedGradError, TraceError, explain, load, record, save, trace)
from .core.passes import Run

from .core import graph as _graph

__version__ = "0.1.0"
__all__ = ["GradGraph", "GradNode", "GradvizError", "GradvizWarning", "Run", "SessionError",
           "Snapshot", "SummarisedGradError", "TraceError", "explain", "export", "load", "record", "save",
           "show", "trace"]


def export(graph: GradGraph, path, **options):
    """Write ``graph`` to ``path``; the suffix picks the format (.svg .png .pdf .dot .json)."""
    # lazy: the layout (and PIL, Graphviz's runner) load only when something is drawn
    from .layout.export import export as _export

    return _export(graph, path, **options)


def show(graph: GradGraph | Run, **options):
    """Open the desktop window on ``graph``, or on a Run's passes and history (blocks in a
    script, not where an event loop runs)."""
    # lazy: Qt loads only when a window opens, never on ``import gradviz``
    from .app.show import show as _show

    return _show(graph, **options)


def _repr_svg(graph: GradGraph) -> str:
    # lazy like export(): drawing needs the layout, which ``import gradviz`` leaves unloaded
    from .layout.export import to_svg

    return to_svg(graph)


_graph.svg_renderer = _repr_svg  # the core cannot import the layout above it
