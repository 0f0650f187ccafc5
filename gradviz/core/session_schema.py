"""The schema of a session's ``graph.json``, checked whole when a session is loaded.

A session may come from a stranger, so every field is checked here, once, before a graph is
built: types, ranges, shapes against the node's metadata, ids against the node list. What
passes holds only values that the app and the exporters can show, so a bad file is refused at
load with one line naming the field, never later as a traceback in an exporter or the window.
Each check is a small function ``(value, where) -> cleaned value``; the schema is built from
them below. Unknown keys are ignored (only checked fields are passed on).
"""

from __future__ import annotations

import math
import re
from typing import Any, Callable

import torch

from .errors import GradvizError
from .graph import KINDS
from .memory import KINDS as MEMORY_KINDS
from .snapshot import STAT_KEYS

Check = Callable[[Any, str], Any]

#: Every dtype this torch knows, by the name sessions store (``float32``): taken from torch's
#: own dtype objects, so a name in a file is only ever looked up, never imported.
DTYPES = {str(d).removeprefix("torch."): d for d in vars(torch).values()
          if isinstance(d, torch.dtype)}
INT64_MAX = 2**63 - 1
MAX_DIMS = 64
MAX_TEXT = 65_536
MAX_NODES = 1_000_000
_DEVICE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(:[0-9]+)?")
_COUNTS = ("nan", "inf")


class SchemaError(GradvizError, ValueError):
    """One field of ``graph.json`` that breaks the schema; ``load`` words it as a SessionError."""


def brief(value) -> str:
    text = repr(value)  # one line: repr escapes control characters
    return text if len(text) <= 40 else text[:37] + "..."


def _at(where: str, key: str) -> str:
    """Where a field is, as a reader of the JSON would write it: ``nodes[3].grads[0].shape``."""
    return f"{where}.{key}" if where else key


def _fail(where: str, expected: str, value) -> None:
    raise SchemaError(f"{where}: expected {expected}, got {brief(value)}")


# -- checks for one value ---------------------------------------------------------------
def integer(lo: int = 0, hi: int = INT64_MAX) -> Check:
    def check(value, where):
        if type(value) is not int or not lo <= value <= hi:
            _fail(where, f"an integer from {lo} to {hi}", value)
        return value
    return check


def number(value, where):
    """Any int or float, NaN and infinities included (a gradient's stats may be)."""
    if type(value) not in (int, float):
        _fail(where, "a number", value)
    return value


def fraction(value, where):
    if type(value) not in (int, float) or not 0 <= value <= 1:
        _fail(where, "a number from 0 to 1", value)
    return value


def boolean(value, where):
    if type(value) is not bool:
        _fail(where, "true or false", value)
    return value


def text(value, where):
    """A string of at most MAX_TEXT characters that every file writer can take: no lone
    surrogate (JSON's ``\\ud800``: not UTF-8) and no NUL (``\\u0000``: it ends Graphviz's
    strings, so a module path holding one would lose its node in the layout)."""
    if type(value) is not str:
        _fail(where, "a string", value)
    if len(value) > MAX_TEXT:
        _fail(where, f"at most {MAX_TEXT} characters", value)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        _fail(where, "text without lone surrogates", value)
    if "\0" in value:
        _fail(where, "text without NUL characters", value)
    return value


def one_of(allowed, what: str = "") -> Check:
    def check(value, where):
        if type(value) is not str or value not in allowed:
            _fail(where, what or "one of " + ", ".join(map(repr, allowed)), value)
        return value
    return check


def pattern(regex: re.Pattern, what: str) -> Check:
    def check(value, where):
        if type(value) is not str or len(value) > 64 or not regex.fullmatch(value):
            _fail(where, what, value)
        return value
    return check


def infinite_or(check: Check) -> Check:
    """``check``, or +Infinity (a ``cap`` of ``math.inf``: keep everything whole)."""
    def either(value, where):
        return value if value == math.inf and type(value) is float else check(value, where)
    return either


# -- checks for containers --------------------------------------------------------------
def optional(check: Check) -> Check:
    def either(value, where):
        return None if value is None else check(value, where)
    return either


def list_of(item: Check, max_len: int = INT64_MAX) -> Check:
    def check(value, where):
        if type(value) is not list or len(value) > max_len:
            _fail(where, "a list" + (f" of at most {max_len} items" if max_len < INT64_MAX
                                     else ""), value)
        return [item(v, f"{where}[{i}]") for i, v in enumerate(value)]
    return check


def row(*items: Check) -> Check:
    """A fixed-length list whose items have each their own check; gives a tuple."""
    def check(value, where):
        if type(value) is not list or len(value) != len(items):
            _fail(where, f"a list of {len(items)} items", value)
        return tuple(c(v, f"{where}[{i}]") for i, (c, v) in enumerate(zip(items, value)))
    return check


_MISSING = object()
#: The default of a field that, when missing, stays missing in the checked object.
OMIT = object()


def record(required: dict[str, Check], defaults: dict[str, tuple[Check, Any]] = {}) -> Check:
    """A JSON object: ``required`` fields must be there; ``defaults`` may be missing
    (field -> (check, value when missing, or OMIT)). Gives a dict of the checked fields only."""
    def check(value, where):
        if type(value) is not dict:
            _fail(where, "an object", value)
        out = {}
        for key, field_check in required.items():
            if key not in value:
                raise SchemaError(f"{where or 'graph.json'}: the field {key!r} is missing")
            out[key] = field_check(value[key], _at(where, key))
        for key, (field_check, default) in defaults.items():
            got = value.get(key, _MISSING)
            if got is not _MISSING:
                out[key] = field_check(got, _at(where, key))
            elif default is not OMIT:
                out[key] = default
        return out
    return check


def mapping(key: Check, item: Check) -> Check:
    def check(value, where):
        if type(value) is not dict:
            _fail(where, "an object", value)
        return {key(k, f"{where} key"): item(v, _at(where, k)) for k, v in value.items()}
    return check


def then(check: Check, *rules: Callable[[Any, str], None]) -> Check:
    """``check``, then rules across its fields (each raises SchemaError or returns None)."""
    def both(value, where):
        out = check(value, where)
        for rule in rules:
            rule(out, where)
        return out
    return both


# -- the session's own fields -----------------------------------------------------------
_size = integer()


def shape(value, where) -> tuple[int, ...]:
    """Sizes that torch could hold: each and their product within int64."""
    if type(value) is not list or len(value) > MAX_DIMS:
        _fail(where, f"a list of at most {MAX_DIMS} sizes", value)
    dims = tuple(_size(v, f"{where}[{i}]") for i, v in enumerate(value))
    if math.prod(dims) > INT64_MAX:
        _fail(where, "a shape of at most 2**63-1 elements", value)
    return dims


dtype = one_of(DTYPES, "a torch dtype name such as 'float32'")
device = pattern(_DEVICE, "a device name such as 'cpu' or 'cuda:0'")
array_name = text

STATS = record({**{k: number for k in STAT_KEYS if k not in _COUNTS},
                **{k: integer() for k in _COUNTS}, "zeros": fraction},
               {"sampled": (boolean, OMIT)})


def _stats_or_none(value, where) -> dict:
    """A tensor without readable data (meta, fake, nested) has a shape and no stats: ``{}``."""
    return {} if type(value) is dict and not value else STATS(value, where)


def _counts_fit_shape(snap: dict, where: str) -> None:
    numel = math.prod(snap["shape"])
    for key in _COUNTS if snap["stats"] else ():
        if snap["stats"][key] > numel:
            raise SchemaError(f"{where}.stats.{key}: {snap['stats'][key]} values of a tensor "
                              f"of {numel}")


def _data_or_sample(snap: dict, where: str) -> None:
    """The whole tensor, or a sample to draw its histogram from: a snapshot with values has
    one; one without (no stats) has neither."""
    if not snap["stats"]:
        if snap["data"] is not None or snap["sample"] is not None:
            raise SchemaError(f"{where}: a tensor without stats has no data or sample")
    elif (snap["data"] is None) == (snap["sample"] is None):
        raise SchemaError(f"{where}: needs either 'data' (the whole tensor) or 'sample' "
                          "(a summary), not both or neither")


SNAPSHOT = then(record({"shape": shape, "dtype": dtype, "device": device,
                        "stats": _stats_or_none,
                        "data": optional(array_name)},
                       {"sample": (optional(array_name), None)}),
                _counts_fit_shape, _data_or_sample)
META = row(shape, dtype, device)
SAVED = row(text, optional(shape), optional(dtype))


def _grads_fit_meta(node: dict, where: str) -> None:
    """A gradient has its output's shape: the capture (and sketches) read it from there."""
    grads, meta = node["grads"] or [], node["meta"]
    if len(grads) > len(meta):
        raise SchemaError(f"{where}.grads: {len(grads)} gradients for {len(meta)} outputs")
    for i, (snap, m) in enumerate(zip(grads, meta)):
        if snap is not None and snap["shape"] != m[0]:
            raise SchemaError(f"{where}.grads[{i}].shape: {list(snap['shape'])}, but the "
                              f"output's shape is {list(m[0])}")


NODE = then(record({"kind": one_of(KINDS), "op": text, "name": optional(text),
                    "module": optional(text), "source": optional(text),
                    "meta": list_of(META), "saved": list_of(SAVED),
                    "values": optional(list_of(optional(SNAPSHOT))),
                    "grads": optional(list_of(optional(SNAPSHOT)))},
                   {"seq": (optional(integer(0, 2**64 - 1)), None)}),
            _grads_fit_meta)
EDGE = row(integer(), integer(), integer())


def _info_value(value, where):
    if type(value) is str:
        return text(value, where)
    if type(value) is not int and not (type(value) is float and math.isfinite(value)):
        _fail(where, "a string or a finite number", value)
    return value


#: What the app and the command read from ``info``, with the type they read it as.
INFO_FIELDS = {"index": integer(1), "script": text, "title": text, "session": text}


def _info_fields(info: dict, where: str) -> None:
    for key, check in INFO_FIELDS.items():
        if key in info:
            check(info[key], _at(where, key))


INFO = then(mapping(text, _info_value), _info_fields)


def _ids_in_range(doc: dict, where: str) -> None:
    size = len(doc["nodes"])
    for i, (a, b, _) in enumerate(doc["edges"]):
        if a >= size or b >= size:
            raise SchemaError(f"edges[{i}]: points to node {max(a, b)}; the nodes are 0 to "
                              f"{size - 1}")
    for i, nid in enumerate(doc["order"]):
        if nid >= size:
            raise SchemaError(f"order[{i}]: node {nid}; the nodes are 0 to {size - 1}")
    if len(set(doc["order"])) != len(doc["order"]):
        raise SchemaError("order: a node is reached twice")


def _acyclic(doc: dict, where: str) -> None:
    """Autograd graphs have no cycles; the player's order and the layered layout need none."""
    size = len(doc["nodes"])
    succ: list[list[int]] = [[] for _ in range(size)]
    indegree = [0] * size
    for a, b, _ in doc["edges"]:
        succ[a].append(b)
        indegree[b] += 1
    ready = [v for v in range(size) if not indegree[v]]
    seen = 0
    while ready:
        v = ready.pop()
        seen += 1
        for w in succ[v]:
            indegree[w] -= 1
            if not indegree[w]:
                ready.append(w)
    if seen < size:
        stuck = next(v for v in range(size) if indegree[v])
        raise SchemaError(f"edges: a cycle runs through node {stuck} (a graph of autograd "
                          "has none)")


#: A flow kept into a shared slot: [edge number, its gradient or null (none was sent)]
FLOW = row(integer(), optional(SNAPSHOT))


def _flows_fit_edges(doc: dict, where: str) -> None:
    """Each flow names an edge once, and has the shape of the output the edge leaves."""
    edges, nodes, seen = doc["edges"], doc["nodes"], set()
    for i, (e, snap) in enumerate(doc["flows"] or ()):
        if e >= len(edges):
            raise SchemaError(f"flows[{i}][0]: edge {e}; the edges are 0 to {len(edges) - 1}")
        if e in seen:
            raise SchemaError(f"flows[{i}][0]: edge {e} has two flows")
        seen.add(e)
        src, _, nr = edges[e]
        meta = nodes[src]["meta"]
        if snap is not None and (nr >= len(meta) or snap["shape"] != meta[nr][0]):
            raise SchemaError(f"flows[{i}][1].shape: {list(snap['shape'])}, but the edge leaves "
                              + (f"an output of shape {list(meta[nr][0])}" if nr < len(meta)
                                 else f"output {nr} of a node with {len(meta)}"))


# -- storages saved for backward (gradviz/core/memory.py) ---------------------------------
def _storages_fit(mem: dict, where: str) -> None:
    """One kind per storage, and every node's storages among them."""
    if len(mem["kind"]) != len(mem["bytes"]):
        raise SchemaError(f"{where}.kind: {len(mem['kind'])} kinds for "
                          f"{len(mem['bytes'])} storages")
    if len(mem["unknown"]) != len(mem["held"]):
        raise SchemaError(f"{where}.unknown: {len(mem['unknown'])} counts for "
                          f"{len(mem['held'])} nodes")
    for nid, held in enumerate(mem["held"]):
        for s in held:
            if s >= len(mem["bytes"]):
                raise SchemaError(f"{where}.held[{nid}]: storage {s}; the storages are 0 to "
                                  f"{len(mem['bytes']) - 1}")


STORAGES = then(record({"bytes": list_of(integer()), "kind": list_of(one_of(MEMORY_KINDS)),
                      "held": list_of(list_of(integer())), "unknown": list_of(integer()),
                      "reasons": list_of(text), "released": optional(boolean)}),
              _storages_fit)


def _memory_fits_nodes(doc: dict, where: str) -> None:
    mem = doc["storages"]
    if mem is not None and len(mem["held"]) != len(doc["nodes"]):
        raise SchemaError(f"storages.held: {len(mem['held'])} entries for "
                          f"{len(doc['nodes'])} nodes")


DOCUMENT = then(record({"nodes": list_of(NODE, MAX_NODES), "edges": list_of(EDGE),
                        "order": list_of(integer())},
                       {"cap": (infinite_or(integer()), 0), "ran": (boolean, None),
                        "warnings": (list_of(text), []), "info": (INFO, {}),
                        "flows": (optional(list_of(FLOW)), None),
                        "storages": (optional(STORAGES), None)}),
                _ids_in_range, _acyclic, _flows_fit_edges, _memory_fits_nodes)


def check_document(doc) -> dict:
    """The checked ``graph.json`` (format and version already read), or SchemaError."""
    return DOCUMENT(doc, "")


# -- a run file's ``run.json`` (gradviz/core/runfile.py) -----------------------------------
#: Where a kept pass's session lies in a run file: ``passes/<n>/``.
PASS_PREFIX = re.compile(r"passes/[0-9]{1,9}/")
MAX_PASSES = 1_000_000


def _history_fits(history: dict, where: str, chunk_rows: int) -> None:
    """One loss and global norm per pass, a chunk of arrays per ``chunk_rows`` passes, each
    as wide as at most the keys, and every key once."""
    n = len(history["passes"])
    for field in ("loss", "global_norm"):
        if len(history[field]) != n:
            raise SchemaError(f"{_at(where, field)}: {len(history[field])} entries for {n} "
                              "passes")
    chunks = -(-n // chunk_rows)
    if len(history["widths"]) != chunks:
        raise SchemaError(f"{_at(where, 'widths')}: {len(history['widths'])} chunks for {n} "
                          f"passes (one per {chunk_rows})")
    for i, width in enumerate(history["widths"]):
        if width > len(history["keys"]):
            raise SchemaError(f"{_at(where, 'widths')}[{i}]: {width} columns for "
                              f"{len(history['keys'])} node keys")
    if len(set(history["keys"])) != len(history["keys"]):
        raise SchemaError(f"{_at(where, 'keys')}: a node key is listed twice")


def _passes_once(doc: dict, where: str) -> None:
    if len(set(doc["passes"])) != len(doc["passes"]):
        raise SchemaError("passes: a pass is listed twice")


def run_document(chunk_rows: int) -> Check:
    """The check of ``run.json``: the passes kept whole and the history of every pass."""
    history = then(record({"keys": list_of(text, MAX_NODES * 16),
                           "passes": list_of(integer(1), MAX_PASSES),
                           "loss": list_of(number, MAX_PASSES),
                           "global_norm": list_of(number, MAX_PASSES),
                           "widths": list_of(integer(0, MAX_NODES * 16))}),
                   lambda h, where: _history_fits(h, where, chunk_rows))
    return then(record({"passes": list_of(pattern(PASS_PREFIX, "a pass folder such as "
                                                  "'passes/0/'"), MAX_PASSES),
                        "history": history},
                       {"every": (integer(1), 1), "steps": (integer(), 0),
                        "traced": (integer(), 0)}),
                _passes_once)
