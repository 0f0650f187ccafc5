"""A training run in one ``.gradviz`` file: the passes kept whole and the history of every
traced pass, read back as a Run-like object (``run.passes``, ``run.history(node)``).

A run file is a session archive with more in it: ``run.json`` (format ``gradviz-run``,
versioned, checked whole as :func:`.session_schema.run_document`), each kept pass as a
session of its own under ``passes/<n>/`` (checked as any session), and the history's
arrays as ``history/<chunk>/<field>.npy`` (the layout of
:class:`~gradviz.core.history.History`; a long run spills its older chunks there while it
runs, see :mod:`.spill`). No pickle anywhere: opening a file cannot run code.
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

from .graph import GradGraph
from .history import CHUNK, FIELDS, History
from .passes import Run, RunError
from .session import SessionError, _Writer, read_archive, read_graph, write_graph
from .session import save as save_graph
from .session_schema import brief, run_document
from .spill import entry

FORMAT = "gradviz-run"
VERSION = 1
INDEX = "run.json"
_DTYPES = {"grad_norm": "float32", "value_norm": "float32", "nan": "uint16", "inf": "uint16",
           "present": "bool"}


class LoadedRun(Run):
    """A run read back from its file: its kept passes and the history of every pass. It
    traces nothing more."""

    def __init__(self, passes: list[GradGraph], history: History, path: Path, *,
                 every: int = 1, steps: int = 0, traced: int = 0):
        super().__init__(every=every, keep=max(1, len(passes)))
        self._passes.extend(passes)
        self._history = history
        self.steps, self.traced, self.path = steps, traced, path

    def trace(self, outputs, **options):
        raise RunError(f"{self.path} is a saved run and traces nothing; gradviz.Run() "
                       "traces a new one")


def save_run(run: Run, path) -> Path:
    """Write ``run``'s kept passes and whole history to ``path``. The file is written beside
    and moved into place, so chunks the run spilled to ``path`` are read before it goes."""
    path = Path(path)
    history = run.summaries
    part = path.with_name(path.name + ".part")
    with zipfile.ZipFile(part, "w", zipfile.ZIP_DEFLATED) as zf:
        prefixes = []
        for i, graph in enumerate(run.passes):
            prefixes.append(f"passes/{i}/")
            write_graph(zf, graph, prefixes[-1])
        w, widths = _Writer(zf), []
        for i in range(history.chunks):
            chunk = history.chunk(i)
            widths.append(chunk["present"].shape[1])
            for field, _, _ in FIELDS:
                w.numpy(entry(i, field), chunk[field])
        doc = {"format": FORMAT, "version": VERSION, "every": run.every, "steps": run.steps,
               "traced": run.traced, "passes": prefixes,
               "history": {"keys": list(history.keys), "passes": history.passes,
                           "loss": history.loss, "global_norm": history.global_norm,
                           "widths": widths}}
        zf.writestr(INDEX, json.dumps(doc))
    os.replace(part, path)
    return path


def save(subject: GradGraph | Run, path) -> Path:
    """``gradviz.save``: a graph as a session, a Run as a run file."""
    return save_run(subject, path) if isinstance(subject, Run) else save_graph(subject, path)


def load(path) -> GradGraph | LoadedRun:
    """A ``.gradviz`` file: a session (one graph) or a run file (a :class:`LoadedRun`);
    anything else raises SessionError with one line."""
    return read_archive(path, _read_any)


def _read_any(reader, path: Path):
    if INDEX in reader.zf.namelist():
        return _read_run(reader, path)
    return read_graph(reader, path)


def _read_run(reader, path: Path) -> LoadedRun:
    doc = reader.document(INDEX)
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise SessionError(f"{path} is not a gradviz run (no '{FORMAT}' marker)")
    if type(doc.get("version")) is not int or doc["version"] != VERSION:
        raise SessionError(f"{path} is a gradviz run of version {brief(doc.get('version'))}; "
                           f"this gradviz reads version {VERSION}")
    doc = run_document(CHUNK)(doc, "")
    passes = [read_graph(reader, path, prefix) for prefix in doc["passes"]]
    h = doc["history"]
    chunks = [{field: reader.array(entry(i, field), f"{entry(i, field)}", (CHUNK, width),
                                   _DTYPES[field]).numpy()
               for field, _, _ in FIELDS} for i, width in enumerate(h["widths"])]
    history = History.restored(h["keys"], h["passes"], h["loss"], h["global_norm"], chunks)
    for graph in passes:
        graph.info.setdefault("session", str(path))
    return LoadedRun(passes, history, path, every=doc["every"], steps=doc["steps"],
                     traced=doc["traced"])
