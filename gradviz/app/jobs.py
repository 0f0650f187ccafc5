"""The pure jobs the window hands to its Runner: no Qt, no window, just inputs to a result.

Each factory is called on the GUI thread with everything the job needs (so the job never
reads window state that might change meanwhile) and returns ``fn(progress, should_stop)``.
"""

from __future__ import annotations

import threading

#: A training loop makes a backward pass per step: keep the newest this many.
KEEP_PASSES = 20
_ONE_RUN = threading.Lock()


def layout_job(graph, collapsed: frozenset, options: dict):
    options = dict(options)

    def job(progress, should_stop):
        from gradviz.layout import layout

        return layout(graph, collapsed=collapsed, progress=progress, should_stop=should_stop,
                      **options)

    return job


def restyle_job(placed, graph, options: dict):
    style = {k: options[k] for k in ("state", "color_by", "theme")}

    def job(progress, should_stop):
        from gradviz.layout import restyle

        return restyle(placed, graph, **style)

    return job


def source_job(spec: str, argv=(), **run_options):
    """A script run unchanged (every backward traced), a demo name, or a saved session."""
    argv = list(argv)

    def job(progress, should_stop):
        from gradviz.sources import open_source

        with _ONE_RUN:  # a cancelled run may still be stopping: runs share sys.argv
            return open_source(spec, argv, keep=KEEP_PASSES, progress=progress,
                               should_stop=should_stop, **run_options).passes

    return job


def export_job(graph, path: str, collapsed: frozenset, options: dict):
    options = {k: v for k, v in options.items() if k != "state"}

    def job(progress, should_stop):
        from gradviz.layout.export import export

        return export(graph, path, collapsed=collapsed, **options)

    return job
