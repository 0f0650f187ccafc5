"""Slides from the lecture player: a PDF with one page per forward or backward step.

Each page is the picture the player shows at that step. The graph is laid out once and
every page is a restyle of that layout (the player's state changes colours and label text,
never positions), so nodes stay put from page to page and ``dot`` runs only once. Graphviz
renders each page at our positions (:func:`.render.render`); its cairo PDF output holds one
graph per file, so the pages are joined with ``pypdf``, which this export needs at run time.
Backward pages carry the player's memory chart under the graph (:mod:`.held_chart`).
"""

from __future__ import annotations

import io
from pathlib import Path

from gradviz.core.graph import GradGraph
from gradviz.core.memory import HeldCurve
from gradviz.core.steps import Steps, on_view
from gradviz.core.viewmodel import ViewModel

from . import held_chart, layout, restyle
from .export import ExportError, model_for
from .render import render


def export_steps(graph: GradGraph | ViewModel, path, mode: str, *, labels: str = "values",
                 collapsed="auto", theme: str = "light", color_by: str | None = None,
                 title: str | None = None, scale: float = 1.0, progress=None,
                 should_stop=None) -> Path:
    """Write one PDF page per step of ``mode`` ("forward" | "backward") to ``path``.

    ``labels`` defaults to ``values``: data and gradient on each node, a gradient appearing
    only once backward has reached it. Other options as :func:`gradviz.layout.export.file_bytes`;
    ``title`` goes before each page's caption. ``graph`` may be a view model, whose
    options then stand for these (its player state aside: each page has its own).
    """
    try:
        from pypdf import PdfReader, PdfWriter
    except ImportError:
        raise ExportError("writing steps needs pypdf: pip install pypdf") from None
    path = Path(path)
    if path.suffix.lower() != ".pdf":
        raise ExportError(f"steps are written as PDF, not {path.name!r}: use a .pdf name")
    report = progress or (lambda stage, fraction: None)
    model = model_for(graph, labels=labels, collapsed=collapsed, theme=theme,
                      color_by=color_by).changed(state=None)
    try:
        steps = Steps.of(model.graph, mode)
    except ValueError as err:  # an unknown mode, or no backward captured
        raise ExportError(str(err)) from None
    # no state: boxes are sized with every gradient shown, so the last page's text fits too
    placed = layout(model, should_stop=should_stop)
    curve = HeldCurve.of(model.graph) if mode == "backward" else None  # the memory chart
    pages = PdfWriter()
    for step in range(len(steps)):
        report(f"page {step + 1} of {len(steps)}", step / len(steps))
        picture = restyle(placed, model.changed(state=on_view(steps.state(step), model.folded)))
        if curve is not None:
            picture = held_chart.on_page(picture, curve, step)
        heading = steps.caption(step)
        pdf = render(picture, "pdf", title=f"{title}: {heading}" if title else heading,
                     scale=scale, should_stop=should_stop)
        pages.append(PdfReader(io.BytesIO(pdf)))
    try:
        with path.open("wb") as out:
            pages.write(out)
    except OSError as err:
        raise ExportError(f"cannot write {path}: {err.strerror or err}") from None
    return path
