"""Save and load a captured graph as one ``.gradviz`` file: a zip of JSON and ``.npy`` arrays.

Never pickle: loading reads JSON, and each array from its ``.npy`` header and raw bytes (an
object dtype is refused), so opening a file from a stranger cannot run code. Every field is
checked before the graph is built (:mod:`.session_schema`); anything unexpected raises
:class:`SessionError`.
"""

from __future__ import annotations

import functools
import io
import json
import math
import warnings
import zipfile
import zlib
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from . import memory
from .errors import GradvizError
from .flows import FlowStore
from .graph import Columns, GradGraph
from .loaded import LoadedCapture, LoadedGraph
from .session_schema import DTYPES, SchemaError, brief, check_document
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
    """Writes a graph's arrays into the archive, under ``prefix`` (a run file holds several)."""

    def __init__(self, zf: zipfile.ZipFile, prefix: str = ""):
        self.zf, self.count, self.prefix = zf, 0, prefix

    def array(self, t: torch.Tensor | None) -> str | None:
        if t is None:
            return None
        name = f"{self.prefix}arrays/{self.count}.npy"
        self.count += 1
        self.numpy(name, _numpy_safe(t.detach().cpu().resolve_conj()).numpy())
        return name

    def numpy(self, name: str, array: np.ndarray) -> None:
        buf = io.BytesIO()
        np.save(buf, array, allow_pickle=False)
        self.zf.writestr(name, buf.getvalue())

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
        write_graph(zf, graph)
    return path


def write_graph(zf: zipfile.ZipFile, graph: GradGraph, prefix: str = "") -> None:
    """The graph as ``{prefix}graph.json`` and its arrays under ``{prefix}arrays/``."""
    w = _Writer(zf, prefix)
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
           "info": {k: v for k, v in graph.info.items() if isinstance(v, (str, int, float))},
           "flows": _flows_to_save(graph, w),
           "storages": memory.to_dict(graph)}
    zf.writestr(f"{prefix}graph.json", json.dumps(doc))


def _flows_to_save(graph: GradGraph, w: _Writer) -> list | None:
    """``[[edge number, SNAP|null], ...]`` of the flows kept into shared slots, in the order
    autograd summed them (the others are their source's gradient); None: not captured."""
    store = graph.capture.flows
    if store is None:
        return None
    return [[e, w.snapshot(store.snapshot(e, graph))] for e in store.kept_edges(graph)]


def _loaded_flows(doc: dict, r: "_Reader", capture: LoadedCapture) -> None:
    if doc["flows"] is not None:
        capture.flows = FlowStore.loaded([
            (e, r.snapshot(snap, f"flows[{i}][1]")) for i, (e, snap) in enumerate(doc["flows"])])


#: Largest ``graph.json`` read: parsing takes about ten times its size in memory. A recorded
#: 100,000-node graph writes about 70 MB; a file that inflates to more is refused unread.
MAX_JSON_BYTES = 128 * 2**20
#: Largest total of array data read from one session: each array must also match the shape
#: the file declares for it, so this only bounds a file that declares huge whole tensors.
MAX_ARRAY_BYTES = 4 * 2**30
_CHUNK = 2**20
_COMPRESSIONS = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED}  # all that save() writes


@functools.cache
def _stored_dtype(name: str) -> np.dtype | None:
    """The numpy dtype that :func:`save` writes a tensor of this dtype as (and that converts
    back to it); None: it cannot, so a tensor of this dtype has no data in a session."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch warns that quantized dtypes are deprecated
        try:
            one = torch.zeros(1, dtype=DTYPES[name])
            stored = _numpy_safe(one).numpy()
            torch.from_numpy(stored).to(one.dtype)
        except (TypeError, RuntimeError, NotImplementedError):
            return None
    return stored.dtype


@functools.cache
def _stored_dtypes() -> frozenset:
    return frozenset(filter(None, map(_stored_dtype, DTYPES)))


class _Reader:
    """Reads the archive's entries, each checked before its bytes are decompressed: only
    stored or deflated and unencrypted, each array read once, its ``.npy`` header matching
    what ``graph.json`` declares, and the total within MAX_ARRAY_BYTES."""

    def __init__(self, zf: zipfile.ZipFile):
        self.zf, self.used, self.total = zf, set(), 0

    def entry(self, name: str, where: str, limit: int) -> zipfile.ZipInfo:
        try:
            info = self.zf.getinfo(name)
        except KeyError:
            raise SchemaError(f"{where}: the archive has no entry {name!r}") from None
        if info.flag_bits & 0x1:
            raise SchemaError(f"{where}: the entry {name!r} is encrypted")
        if info.compress_type not in _COMPRESSIONS:
            raise SchemaError(f"{where}: the entry {name!r} uses compression method "
                              f"{info.compress_type} (gradviz writes only stored or deflated)")
        if info.file_size > limit:
            raise SchemaError(f"{where}: the entry {name!r} holds {info.file_size:,} bytes, more "
                              f"than the {limit:,} a session may")
        return info

    def document(self, name: str = "graph.json"):
        """The JSON entry ``name``, parsed (checked by the caller)."""
        return _parse(self.zf.read(self.entry(name, name, MAX_JSON_BYTES)), name)

    def array(self, name: str | None, where: str, shape: tuple | None = None,
              dtype: str | None = None, most: int = 0) -> torch.Tensor | None:
        """``shape``/``dtype``: what the snapshot declares (its data); None: a sample, a
        1-D array of at most ``most`` elements of any dtype a session stores."""
        if name is None:
            return None
        if name in self.used:
            raise SchemaError(f"{where}: the array {name!r} is used twice")
        self.used.add(name)
        info = self.entry(name, where, MAX_ARRAY_BYTES - self.total)
        with self.zf.open(info) as fp:
            got_shape, fortran, got_dtype = _npy_header(fp, where)
            if shape is not None:
                if got_shape != shape:
                    raise SchemaError(f"{where}: the array is {list(got_shape)}, but the tensor "
                                      f"is {list(shape)}")
                expected = _stored_dtype(dtype)
                if got_dtype != expected:
                    raise SchemaError(f"{where}: a {dtype} tensor stored as {got_dtype}"
                                      + (f", not {expected}" if expected else ""))
            elif len(got_shape) != 1 or got_shape[0] > most or got_dtype not in _stored_dtypes():
                raise SchemaError(f"{where}: a sample must be a 1-D array of at most {most} "
                                  f"numbers, got {list(got_shape)} {got_dtype}")
            size = math.prod(got_shape) * got_dtype.itemsize
            if info.file_size != fp.tell() + size:
                raise SchemaError(f"{where}: the entry's size does not match its .npy header")
            self.total += size
            arr = np.empty(got_shape[::-1] if fortran else got_shape, got_dtype)
            _read_into(fp, memoryview(arr.reshape(-1).view(np.uint8)), where)
        t = torch.from_numpy(arr.T if fortran else arr)
        return t.to(DTYPES[dtype]) if dtype is not None and t.dtype != DTYPES[dtype] else t

    def snapshot(self, d: dict | None, where: str) -> Snapshot | None:
        if d is None:
            return None
        return Snapshot.from_parts(
            d["shape"], d["dtype"], d["device"], stats=d["stats"],
            data=self.array(d["data"], f"{where}.data", d["shape"], d["dtype"]),
            sample=self.array(d["sample"], f"{where}.sample", most=math.prod(d["shape"])))


def _npy_header(fp, where: str) -> tuple[tuple, bool, np.dtype]:
    """(shape, fortran order, dtype) from a ``.npy`` header, before any data is read."""
    try:
        version = np.lib.format.read_magic(fp)
        read = {(1, 0): np.lib.format.read_array_header_1_0,
                (2, 0): np.lib.format.read_array_header_2_0}.get(version)
        if read is None:
            raise ValueError(f".npy format version {version}")
        return read(fp)
    except ValueError as exc:
        raise SchemaError(f"{where}: not a .npy array ({_one_line(exc)})") from None


def _read_into(fp, out: memoryview, where: str) -> None:
    """Fill ``out`` from ``fp`` a chunk at a time (no second copy of a large array), then
    read on to the end, where zipfile checks the entry's CRC."""
    pos = 0
    while pos < len(out):
        chunk = fp.read(min(_CHUNK, len(out) - pos))
        if not chunk:
            raise SchemaError(f"{where}: the array is cut short")
        out[pos:pos + len(chunk)] = chunk
        pos += len(chunk)
    fp.read(1)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def load(path) -> GradGraph:
    """Read a ``.gradviz`` file written by :func:`save`; anything else raises SessionError.

    The whole ``graph.json`` is checked against :mod:`.session_schema` and every array against
    it before the graph is built, so what loads can be shown and exported."""
    return read_archive(path, read_graph)


def read_graph(reader: "_Reader", path: Path, prefix: str = "") -> GradGraph:
    """The graph under ``prefix`` in an open archive, checked whole."""
    doc = reader.document(f"{prefix}graph.json")
    _check_marker(doc, path)
    return _build(check_document(doc), reader, path)


def read_archive(path, read: Callable[["_Reader", Path], object]):
    """``read(reader, path)`` on the zip at ``path``; whatever goes wrong is one SessionError
    line (a field that breaks the schema, a damaged zip, too little memory)."""
    path = Path(path)
    if not path.is_file():
        raise SessionError(f"{path}: no such file")
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, ValueError, EOFError):
        raise SessionError(f"{path} is not a gradviz session (not a zip archive)") from None
    except OSError as exc:
        raise SessionError(f"{path} cannot be read: {_one_line(exc)}") from None
    try:
        with zf:
            return read(_Reader(zf), path)
    except SessionError:
        raise
    except SchemaError as exc:
        raise SessionError(f"{path} is damaged: {exc}") from None
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise SessionError(f"{path} is corrupt: {_one_line(exc)}") from None
    except NotImplementedError as exc:  # a zip feature zipfile lacks (checked: compression)
        raise SessionError(f"{path} needs a zip feature gradviz lacks: {_one_line(exc)}") from None
    except MemoryError:
        raise SessionError(f"{path} is too large to open in this much memory") from None
    except OSError as exc:
        raise SessionError(f"{path} cannot be read: {_one_line(exc)}") from None


def _parse(data: bytes, name: str = "graph.json"):
    try:
        return json.loads(data)
    except RecursionError:
        raise SchemaError(f"{name} is nested too deeply") from None
    except ValueError as exc:  # not JSON, or not UTF-8
        raise SchemaError(f"{name} is not JSON ({_one_line(exc)})") from None


def _check_marker(doc, path: Path) -> None:
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise SessionError(f"{path} is not a gradviz session (no '{FORMAT}' marker)")
    version = doc.get("version")
    if type(version) is not int or version != VERSION:
        raise SessionError(f"{path} is a gradviz session of version {brief(version)}; "
                           f"this gradviz reads version {VERSION}")


def _build(doc: dict, r: _Reader, path: Path) -> GradGraph:
    nodes = doc["nodes"]
    cols = Columns(
        kind=[n["kind"] for n in nodes], op=[n["op"] for n in nodes], fn=[None] * len(nodes),
        name=[n["name"] for n in nodes], module=[n["module"] for n in nodes],
        source=[n["source"] for n in nodes], meta=[tuple(n["meta"]) for n in nodes],
        seq=[n["seq"] for n in nodes], saved=[list(n["saved"]) for n in nodes],
        values=[None] * len(nodes))
    snaps: dict[int, tuple] = {}
    for nid, n in enumerate(nodes):
        if n["values"]:
            cols.values[nid] = tuple(r.snapshot(s, f"nodes[{nid}].values[{i}]")
                                     for i, s in enumerate(n["values"]))
        if n["grads"]:
            snaps[nid] = tuple(r.snapshot(s, f"nodes[{nid}].grads[{i}]")
                               for i, s in enumerate(n["grads"]))
    capture = LoadedCapture(doc["cap"], doc["order"], snaps, doc["ran"])
    _loaded_flows(doc, r, capture)
    graph = LoadedGraph(cols, doc["edges"], capture)
    graph.warnings = doc["warnings"]
    graph.info = doc["info"]
    graph.memory = memory.from_dict(doc["storages"], len(nodes))
    graph.info.setdefault("session", str(path))
    return graph
