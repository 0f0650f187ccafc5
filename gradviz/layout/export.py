"""``gradviz.export(graph, path, **options)``: the file format follows the suffix.

``.svg`` (our writer), ``.png`` / ``.pdf`` (Graphviz renders our positions), ``.dot`` (the
DOT source that ``dot`` lays out: deterministic, for golden tests and for people who want to
restyle it), ``.json`` (the design's schema, from ``gradviz.core.jsonify``).
"""

from __future__ import annotations

import warnings
from pathlib import Path

from gradviz.core.collapse import default_collapsed
from gradviz.core.graph import GradGraph
from gradviz.core.jsonify import to_json
from gradviz.core.errors import GradvizError, GradvizWarning
from gradviz.core.viewmodel import ViewModel

from . import layout as make_layout, scene_of
from .dotsource import to_dot
from .render import render
from .svg import to_svg_text

FORMATS = (".svg", ".png", ".pdf", ".dot", ".json")


class ExportError(GradvizError, ValueError):
    """A path or an option that cannot be exported to; the message is one clear line."""


def resolve_collapsed(graph: GradGraph, collapsed):
    """``"auto"`` (the default): the app's first picture; otherwise a set of module paths."""
    return default_collapsed(graph) if collapsed == "auto" else frozenset(collapsed or ())


def model_for(graph: GradGraph | ViewModel, *, labels: str = "compact", collapsed="auto",
              theme: str = "light", color_by: str | None = None, state=None) -> ViewModel:
    """The view model an export draws: ``graph`` itself when it is one, else the graph with
    these options (``collapsed`` as :func:`resolve_collapsed`)."""
    if isinstance(graph, ViewModel):
        return graph
    return ViewModel.of(graph, collapsed=resolve_collapsed(graph, collapsed), labels=labels,
                        color_by=color_by, theme=theme, state=state)


def file_bytes(graph: GradGraph | ViewModel, fmt: str, *, title: str | None = None,
               dpi: float = 96.0, scale: float = 1.0, progress=None, should_stop=None,
               **options) -> bytes:
    """The content of an export in ``fmt`` ("svg", "png", "pdf", "dot", "json") of a view
    model, or of a graph with the model's ``options`` (``labels``, ``collapsed``, ``theme``,
    ``color_by``, ``state``: see :func:`model_for`)."""
    model = model_for(graph, **options)
    if fmt == "json":
        return to_json(model.graph).encode()
    if fmt == "dot":
        return to_dot(scene_of(model), model.theme).encode()
    report = progress or (lambda stage, fraction: None)
    placed = make_layout(model, should_stop=should_stop,
                         progress=lambda stage, fraction: report(stage, 0.9 * fraction))
    for message in placed.warnings:  # the app shows them in a banner; a file has no banner
        warnings.warn(message, GradvizWarning, stacklevel=3)
    report(f"writing {fmt.upper()}", 0.9)
    if fmt == "svg":
        return to_svg_text(placed, title=title, scale=scale).encode()
    if fmt in ("png", "pdf"):
        return render(placed, fmt, title=title, dpi=dpi, scale=scale, should_stop=should_stop)
    raise ExportError(f"cannot export to .{fmt}: use one of {', '.join(FORMATS)}")


def check_path(path) -> Path:
    """``path`` if it has a known suffix and its folder exists; else :class:`ExportError`."""
    path = Path(path)
    if path.suffix.lower() not in FORMATS:
        raise ExportError(f"cannot export to {path.name!r}: the suffix must be one of "
                          f"{', '.join(FORMATS)}")
    if not path.parent.is_dir():
        raise ExportError(f"cannot write {path}: the folder {path.parent} does not exist")
    return path


def export(graph: GradGraph | ViewModel, path, **options) -> Path:
    """Write ``graph`` to ``path`` (format by suffix); options as :func:`file_bytes`."""
    path = check_path(path)
    data = file_bytes(graph, path.suffix.lower()[1:], **options)
    try:
        path.write_bytes(data)
    except OSError as err:
        raise ExportError(f"cannot write {path}: {err.strerror or err}") from None
    return path


def to_svg(graph: GradGraph) -> str:
    """Inline SVG for Jupyter (``GradGraph._repr_svg_``)."""
    return file_bytes(graph, "svg").decode()
