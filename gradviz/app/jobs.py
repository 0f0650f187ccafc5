"""The pure jobs the window hands to its Runner: no Qt, no window, just inputs to a result.

Each factory is called on the GUI thread with everything the job needs (so the job never
reads window state that might change meanwhile) and returns ``fn(progress, should_stop)``.
What to draw comes as the window's :class:`~gradviz.core.viewmodel.ViewModel`: frozen, so
the window swapping in a changed one never changes what a running job sees.
"""

from __future__ import annotations

import threading

from gradviz.core.diagnoses.nonfinite import nonfinite_nodes
from gradviz.core.diagnoses.scale import summary_line as gradient_scale
from gradviz.core.diagnosis import diagnose
from gradviz.core.memory import HeldCurve
from gradviz.core.select import summary_text
from gradviz.core.viewmodel import ViewModel
from gradviz.layout import layout, restyle
from gradviz.layout.export import export
from gradviz.sources import open_source

#: A training loop makes a backward pass per step: keep the newest this many.
KEEP_PASSES = 20
_ONE_RUN = threading.Lock()


def layout_job(model: ViewModel):
    def job(progress, should_stop):
        return layout(model, progress=progress, should_stop=should_stop)

    return job


def restyle_job(placed, model: ViewModel):
    def job(progress, should_stop):
        return restyle(placed, model)

    return job


def source_job(spec: str, argv=(), **run_options):
    """A script run unchanged (every backward traced), a demo name, or a saved session."""
    argv = list(argv)

    def job(progress, should_stop):
        with _ONE_RUN:  # a cancelled run may still be stopping: runs share sys.argv
            return open_source(spec, argv, keep=KEEP_PASSES, progress=progress,
                               should_stop=should_stop, **run_options).passes

    return job


def diagnosis_job(graph, error: BaseException | None):
    """(every check's findings about ``graph`` and what the script raised (``error``), the
    gradient-scale line of the graph summary, Ctrl+N's round of non-finite nodes): all read
    gradient statistics (Ctrl+N's alone is 0.6 s at 20,000 nodes)."""
    def job(progress, should_stop):
        return diagnose(graph, error), gradient_scale(graph), nonfinite_nodes(graph)

    return job


def export_job(model: ViewModel, path: str):
    """The whole graph as the window folds, labels, colours and themes it; no player marks."""
    model = model.changed(state=None)

    def job(progress, should_stop):
        return export(model, path)

    return job


def summary_job(graph, scale: str | None = None):
    """The inspector's graph summary (counts, the gradient-scale verdict, memory, ops) in
    words."""
    def job(progress, should_stop):
        return summary_text(graph, scale)

    return job


def held_curve_job(graph):
    """What autograd still holds for backward after each step: the player's memory chart."""
    def job(progress, should_stop):
        return HeldCurve.of(graph)

    return job
