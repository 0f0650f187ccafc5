"""Save and load a captured graph as one ``.gradviz`` file: a zip of JSON and ``.npy`` arrays.

Never pickle: loading reads JSON and arrays with ``allow_pickle=False``, so opening a file
from a stranger cannot run code. Anything unexpected raises :class:`SessionError`.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import torch

from .errors import GradvizError
from .graph import Columns, GradGraph
from .hooks import Capture
from .snapshot import Snapshot

FORMAT = "gradviz-session"
VERSION = 1


class SessionError(GradvizError, ValueError):
    """A file that is not a readable gradviz session."""


def _numpy_safe(t: torch.Tensor) -> torch.Tensor:
    if t.dtype == torch.bfloat16 or t.dtype.itemsize == 1 and t.is_floating_point():
        return t.float()
    return t


class _Writer:
    def __init__(self, zf: zipfile.ZipFile):
        self.zf, self.count = zf, 0

    def array(self, t: torch.Tensor | None) -> str | None:
        if t is None:
            return None
        name = f"arrays/{self.count}.npy"
        self.count += 1
        buf = io.BytesIO()
        np.save(buf, _numpy_safe(t.detach().cpu().resolve_conj()).numpy(), allow_pickle=False)
        self.zf.writestr(name, buf.getvalue())
        return name

    def snapshot(self, snap: Snapshot | None) -> dict | None:
        if snap is None:
            return None
        return {"shape": list(snap.shape), "dtype": snap.dtype, "device": snap.device,
                "stats": snap.stats, "data": self.array(snap.data),
                "sample": self.array(snap.sample) if snap.data is None else None}


def save(graph: GradGraph, path) -> Path:
    """Write the graph, its values and captured gradients to ``path`` (``.gradviz``)."""
    path = Path(path)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        w = _Writer(zf)
        nodes = []
        for n in graph.nodes:
            nodes.append({
                "kind": n.kind, "op": n.op, "name": n.name, "module": n.module, "source": n.source,
                "meta": [list(m) for m in graph.meta(n.id)],
                "seq": graph.sequence_nr(n.id),
                "saved": [list(s) for s in n.saved],
                "values": [w.snapshot(s) for s in n.value_snapshots] if n.value_snapshot else None,
                "grads": [w.snapshot(s) for s in n.grad_snapshots] or None,
            })
        doc = {"format": FORMAT, "version": VERSION, "cap": graph.cap, "nodes": nodes,
               "edges": [list(e) for e in graph.edges], "order": graph.capture.order,
               "ran": graph.capture.ran, "warnings": graph.warnings,
               "info": {k: v for k, v in graph.info.items() if isinstance(v, (str, int, float))}}
        zf.writestr("graph.json", json.dumps(doc))
    return path


class _Reader:
    def __init__(self, zf: zipfile.ZipFile, path: Path):
        self.zf, self.path = zf, path

    def array(self, name, dtype: str | None = None) -> torch.Tensor | None:
        if name is None:
            return None
        arr = np.load(io.BytesIO(self.zf.read(name)), allow_pickle=False)
        t = torch.from_numpy(arr.copy())
        wanted = getattr(torch, dtype, None) if dtype else None
        return t.to(wanted) if isinstance(wanted, torch.dtype) and t.dtype != wanted else t

    def snapshot(self, d) -> Snapshot | None:
        if d is None:
            return None
        return Snapshot.from_parts(d["shape"], d["dtype"], d["device"],
                                   data=self.array(d["data"], d["dtype"]),
                                   stats=d["stats"], sample=self.array(d.get("sample")))


def load(path) -> GradGraph:
    """Read a ``.gradviz`` file written by :func:`save`."""
    path = Path(path)
    if not path.is_file():
        raise SessionError(f"{path}: no such file")
    try:
        with zipfile.ZipFile(path) as zf:
            doc = json.loads(zf.read("graph.json"))
            if not isinstance(doc, dict) or doc.get("format") != FORMAT:
                raise SessionError(f"{path} is not a gradviz session (no '{FORMAT}' marker)")
            if doc.get("version") != VERSION:
                raise SessionError(f"{path} is a gradviz session of version {doc.get('version')}; "
                                   f"this gradviz reads version {VERSION}")
            return _build(doc, _Reader(zf, path))
    except SessionError:
        raise
    except zipfile.BadZipFile:
        raise SessionError(f"{path} is not a gradviz session (not a zip archive)") from None
    except (KeyError, TypeError, ValueError, IndexError, OSError) as exc:
        raise SessionError(f"{path} is damaged: {type(exc).__name__}: {exc}") from None


def _build(doc: dict, r: _Reader) -> GradGraph:
    cols = Columns()
    snaps: dict[int, tuple] = {}
    for nid, n in enumerate(doc["nodes"]):
        if n["kind"] not in ("leaf", "op", "output"):
            raise ValueError(f"node {nid} has unknown kind {n['kind']!r}")
        cols.add(n["kind"], str(n["op"]), None)
        cols.fill()
        cols.name[nid], cols.module[nid], cols.source[nid] = n["name"], n["module"], n["source"]
        cols.meta[nid] = tuple((tuple(m[0]), m[1], m[2]) for m in n["meta"])
        cols.seq[nid] = None if n.get("seq") is None else int(n["seq"])
        cols.saved[nid] = [(s[0], tuple(s[1]) if s[1] is not None else None, s[2]) for s in n["saved"]]
        if n["values"]:
            cols.values[nid] = tuple(r.snapshot(s) for s in n["values"])
        if n["grads"]:
            snaps[nid] = tuple(r.snapshot(s) for s in n["grads"])
    size = len(cols.kind)
    edges = [(int(a), int(b), int(p)) for a, b, p in doc["edges"]]
    if any(not (0 <= a < size and 0 <= b < size) for a, b, _ in edges):
        raise ValueError("an edge points outside the node list")
    capture = Capture(int(doc.get("cap", 0)))
    capture.set_loaded([int(i) for i in doc["order"]], snaps)
    capture.ran = bool(doc.get("ran", capture.ran))
    graph = GradGraph(cols, edges, capture, capture.cap)
    graph.warnings = [str(w) for w in doc.get("warnings", [])]
    graph.info = dict(doc.get("info", {}))
    graph.info.setdefault("session", str(r.path))
    return graph
