"""Failure 1: an in-place write to a tensor that backward needs.

torch says "one of the variables needed for gradient computation has been modified by an
inplace operation: [torch.FloatTensor [3]], which is output 0 of Exp, is at version 2;
expected version 0 instead", and with anomaly detection where the tensor was *used*, never
where it was *written*. Under ``record()`` each op's tag holds the version of every tensor it
saved, and the forward log every in-place write with the version it left: the finding names
the op that saved the tensor, the writes that changed it, and their lines. Without
``record()`` the graph still tells which op saved a tensor of that shape and version.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..diagnosis import CHECKS, Finding, Severity
from ..forwardlog import LOG, Write
from ..internals import saved_data, saved_values, version
from ..record import tag_of
from .lines import code_at

_ERROR = re.compile(r"modified by an inplace operation: \[(?P<type>\S+) \[(?P<shape>[\d, ]*)\]\]"
                    r"(?:, which is output \d+ of (?P<op>\w+))?, is at version (?P<now>\d+); "
                    r"expected version (?P<then>\d+) instead")
_GENERIC_FIX = ("write out of place (`y = y * 2` instead of `y.mul_(2)`, inplace=False), or "
                "`.clone()` the tensor before writing to it")
#: ``y.mul_(2)`` -> ``y = y.mul(2)``: the same call, out of place.
_METHOD = re.compile(r"^(?P<target>[\w.\[\]]+)\.(?P<op>\w+)_\((?P<args>.*)\)$")


@dataclass(frozen=True)
class Stale:
    """A saved tensor written to since it was saved."""

    nid: int  # the node that saved it
    entry: str  # its name among the node's saved tensors: "result", "self", "other"
    shape: tuple
    then: int  # its version when saved
    now: int  # its version now
    storage: int  # data pointer of its storage, as the log notes writes


def _noted_versions(fn):
    """(entry, version when saved) of each tensor ``fn`` saved, as ``record()`` noted them."""
    tag = tag_of(fn)
    if tag is None:
        return []
    return [(entry, then) for (entry, _, _), then in zip(tag["saved"], tag.get("versions", ()))
            if then is not None]


def stale_tensors(graph, then: int | None = None, now: int | None = None,
                  shape: tuple | None = None) -> list[Stale]:
    """The saved tensors of ``graph`` written to since: exactly, where ``record()`` noted their
    versions; elsewhere, those of ``shape`` at version ``now`` (what torch's message quotes)."""
    found = []
    for nid, fn in enumerate(graph.cols.fn):
        if fn is None or graph.cols.kind[nid] == "leaf":
            continue
        noted = _noted_versions(fn)
        if not noted and now is not None:
            noted = [(entry, then) for entry, value in saved_values(fn)
                     if getattr(value, "shape", None) is not None]
        for entry, saved_version in noted:
            data = saved_data(fn, entry)
            if data is None or version(data) <= saved_version:
                continue
            if not _noted_versions(fn) and (version(data) != now or tuple(data.shape) != shape):
                continue
            found.append(Stale(nid, entry, tuple(data.shape), saved_version, version(data),
                               data.untyped_storage().data_ptr()))
    return found


def _shape(text: str) -> tuple:
    return tuple(int(n) for n in text.split(",") if n.strip())


def _fix(write: Write, script: str | None) -> str:
    """The first write, out of place: ``y = y.mul(2)`` for ``y.mul_(2)``; else a copy to write
    to. (After the first, later writes change a tensor nobody saved.)"""
    code = code_at(write.where, script)
    method = _METHOD.match(code or "")
    if method:
        target = method["target"]
        return (f"`{target} = {target}.{method['op']}({method['args']})` instead of `{code}` "
                f"at {write.where} (or `{target} = {target}.clone()` before it)")
    if write.op.endswith("(inplace=True)"):
        return f"inplace=False at {write.where}"
    shown = f"`{code}`" if code else write.op
    return f"write to a copy: `.clone()` the tensor before {shown} at {write.where}"


def check(graph, exc) -> list[Finding]:
    match = _ERROR.search(str(exc)) if isinstance(exc, RuntimeError) else None
    if match is None:
        return []
    then, now, shape = int(match["then"]), int(match["now"]), _shape(match["shape"])
    what = f"a {list(shape)} tensor"
    stale = [] if graph is None else stale_tensors(graph, then, now, shape)
    hit = next((s for s in stale if (s.then, s.now, s.shape) == (then, now, shape)),
               stale[0] if stale else None)
    script = graph.info.get("script") if graph is not None else None
    if hit is None:
        writes = _writes_by_shape(shape, then, now)
        unknown = ("gradviz.trace(loss) before backward would show which op saved it"
                   if writes else "which op saved it and which wrote to it are unknown: the "
                   "forward inside gradviz.record() (or the script under `gradviz run`) would "
                   "name their lines")
        return [Finding(
            "inplace", Severity.ERROR,
            f"an in-place op changed {what} that backward needed (version {then} -> {now})",
            details=tuple(f"{w.op} at {w.where} wrote to a {list(shape)} tensor" for w in writes)
            + (unknown,), where=tuple(w.where for w in writes if w.where),
            suggestion=_fix(writes[0], script) if writes else _GENERIC_FIX)]
    node = graph.node(hit.nid)
    writes = LOG.writes_to(hit.storage, hit.then, hit.now)
    marked = {s.nid for s in stale}
    marked |= {nid for nid, fn in enumerate(graph.cols.fn)
               if fn is not None and (tag := tag_of(fn)) is not None and tag.get("write") in writes}
    saver = f"{node.op} at {node.source}" if node.source else node.op
    lines = [w.where for w in writes if w.where]
    title = (f"in-place {', '.join(dict.fromkeys(w.op for w in writes)) or 'write'}"
             f"{' at ' + ', '.join(lines) if lines else ''} changed {what} that {saver} "
             "saved for backward")
    details = [f"{saver} saved its {hit.entry} ({list(hit.shape)}) for backward at version "
               f"{hit.then}"]
    details += [f"{w.op} at {w.where or 'an unknown line'} wrote to it in place (version "
                f"{next(v for p, v, _ in w.targets if p == hit.storage)})" for w in writes]
    if len(writes) < hit.now - hit.then:
        details.append(f"{hit.now - hit.then - len(writes)} write(s) ran outside "
                       "gradviz.record(): record() (or `gradviz run`) would name their lines")
    details.append(f"backward found version {hit.now} where it expected {hit.then}, and stopped")
    param = _parameter(graph, hit.storage)
    if param is not None:
        marked.add(param.id)
        details.insert(1, f"it is the parameter {param.name or param.op}: an optimizer step (or "
                          "another update) wrote to it before backward used it")
    fix = _GENERIC_FIX if not writes else _fix(writes[0], script) if param is None else (
        f"update {param.name or 'the parameter'} only after every backward that needs it: "
        f"move `{code_at(writes[0].where, script) or writes[0].op}` ({writes[0].where}) after "
        "the last backward through this forward, or run the forward again after it")
    return [Finding("inplace", Severity.ERROR, title, tuple(details), tuple(sorted(marked)),
                    tuple(dict.fromkeys(([node.source] if node.source else []) + lines)), fix)]


def _parameter(graph, storage: int):
    """The leaf (a parameter) whose storage is ``storage``, if the saved tensor was one."""
    for node in graph.nodes:
        t = node.tensor if node.kind == "leaf" else None
        if t is not None and t.untyped_storage().data_ptr() == storage:
            return node
    return None


def _writes_by_shape(shape: tuple, then: int, now: int) -> list[Write]:
    """Without the saving node: the newest writes that left a tensor of ``shape`` at ``now``,
    and the earlier writes to the same storage since ``then``."""
    for write in reversed(LOG.writes):
        for storage, left, written in write.targets:
            if left == now and written == shape:
                return LOG.writes_to(storage, then, now)
    return []


CHECKS.append(check)
