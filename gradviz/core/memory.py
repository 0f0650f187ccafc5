"""Memory autograd holds for backward: the tensors each op saved, where, and when they go.

Each storage is counted once across the graph (an activation saved by two ops, or a view
of a saved tensor, is one storage), and by kind: ``parameter`` (the storage of a leaf that
requires grad: weights, and inputs that require grad; alive anyway) or ``activation``
(everything else autograd holds for backward). Tensors made without grad that ops saved
(data, buffers, masks, a norm's statistics) count as activations: autograd holds them, and
whether anything else does cannot be seen without reference counts. Only numbers are kept:
measuring never keeps a tensor alive.

Saved tensors are read without unpacking (:func:`~gradviz.core.internals.held_for_backward`),
so a user's unpack hook or a checkpoint's recomputation never runs. What cannot be sized is
counted as *unknown*, with the reason: a tensor without ordinary storage (sparse, nested,
meta, a wrapper subclass such as DTensor or FakeTensor), or one a saved-tensor hook packed
into something that is not a tensor (a non-reentrant checkpoint's holder, which keeps
nothing: checkpointed activations are recomputed in backward).

Autograd releases a node's saved tensors once the node has run, unless ``retain_graph``:
:meth:`Memory.timeline` replays the captured backward order to say what is still held.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from . import internals
from .contiguous import prefixes
from .errors import GradvizError

KINDS = ("activation", "parameter")
PACKED = "packed by a saved-tensor hook (checkpointing, offloading) into a non-tensor"
NO_STORAGE = "no ordinary storage (sparse, nested, meta, or a tensor subclass)"


class MemoryUnknownError(GradvizError, LookupError):
    """The graph's saved tensors were not measured before backward released them."""


@dataclass
class Memory:
    """Saved storages (bytes and kind, each once) and which nodes hold which."""

    bytes: list[int] = field(default_factory=list)  # per storage
    kind: list[str] = field(default_factory=list)  # per storage, one of KINDS
    held: list[tuple[int, ...]] = field(default_factory=list)  # per node: storage indices
    unknown: list[int] = field(default_factory=list)  # per node: saved tensors not sized
    reasons: list[str] = field(default_factory=list)  # why some were not sized
    #: Whether the backward pass released the saved tensors (False: retain_graph=True);
    #: None while backward has not run, or not known.
    released: bool | None = None
    measured: bool = True
    #: Per storage, its address when measured (live graphs only; not kept in sessions):
    #: lets torch's own allocation events be matched to it.
    address: list[int] = field(default_factory=list)

    @classmethod
    def not_measured(cls, nodes: int) -> "Memory":
        return cls(held=[()] * nodes, unknown=[0] * nodes, measured=False)

    # -- per node ---------------------------------------------------------------------
    def node_bytes(self, nid: int) -> int | None:
        """Bytes of the distinct storages node ``nid`` saved (shared ones included)."""
        return sum(self.bytes[s] for s in self.held[nid]) if self.measured else None

    def shared_with(self, nid: int, owners: list | None = None) -> dict[int, list[int]]:
        """Storage index -> the other nodes that saved it too, for each storage ``nid``
        shares (``owners``: :meth:`owners`, when already at hand)."""
        owners = self.owners() if owners is None else owners
        return {s: [o for o in owners[s] if o != nid] for s in self.held[nid]
                if len(owners[s]) > 1}

    def owners(self) -> list[list[int]]:
        out: list[list[int]] = [[] for _ in self.bytes]
        for nid, held in enumerate(self.held):
            for s in held:
                out[s].append(nid)
        return out

    # -- totals -----------------------------------------------------------------------
    def totals(self, storages=None) -> dict:
        """Bytes by kind over ``storages`` (default: all), each storage once, with the
        share of activations and the count of saved tensors of unknown size."""
        self.require()
        idx = range(len(self.bytes)) if storages is None else storages
        out = dict.fromkeys(("bytes", *KINDS), 0)
        for s in idx:
            out["bytes"] += self.bytes[s]
            out[self.kind[s]] += self.bytes[s]
        out["activation share"] = out["activation"] / out["bytes"] if out["bytes"] else 0.0
        return out

    def require(self) -> None:
        if not self.measured:
            raise MemoryUnknownError(
                "the tensors saved for backward were not measured: backward had already "
                "released them. Run the forward pass inside gradviz.record(), or read "
                "g.saved_bytes before calling backward()")

    def by_module(self, modules: list) -> dict[str, dict]:
        """Totals per ``nn.Module`` path, nested: a module counts its submodules' storages,
        each once. ``modules``: the graph's module column."""
        self.require()
        inside: dict[str, set[int]] = {}
        unknown: dict[str, int] = {}
        for nid, module in enumerate(modules):
            if not module or not (self.held[nid] or self.unknown[nid]):
                continue
            for path in prefixes(module):
                inside.setdefault(path, set()).update(self.held[nid])
                unknown[path] = unknown.get(path, 0) + self.unknown[nid]
        return {path: {**self.totals(sorted(s)), "unknown": unknown[path]}
                for path, s in sorted(inside.items())}

    def timeline(self, order: list[int]) -> list[dict]:
        """What autograd still holds after each step of the backward ``order``: step 0 is
        before backward, step k after the k-th node ran. A storage goes when every node
        that saved it has run (and the pass released them: not under retain_graph)."""
        self.require()
        left = [len(o) for o in self.owners()]
        held = {k: 0 for k in KINDS}
        for s, n in enumerate(self.bytes):
            held[self.kind[s]] += n
        steps = [{"step": 0, "node": None, "freed": 0, **held}]
        for k, nid in enumerate(order, 1):
            freed = 0
            if self.released:
                for s in self.held[nid]:
                    left[s] -= 1
                    if not left[s]:
                        held[self.kind[s]] -= self.bytes[s]
                        freed += self.bytes[s]
            steps.append({"step": k, "node": nid, "freed": freed, **held})
        return steps


# -- measuring a live graph --------------------------------------------------------------
def storage_of(t: torch.Tensor) -> tuple[int, int] | None:
    """(address, bytes) of the storage behind ``t``, or None when it has none to count. The
    address alone is the key: devices' memory does not overlap in the address space."""
    if (not (type(t) is torch.Tensor or type(t) is torch.nn.Parameter)
            or t.layout is not torch.strided or t.is_nested or t.is_meta):
        return None
    try:
        s = t.untyped_storage()
        ptr, n = s.data_ptr(), s.nbytes()
    except (RuntimeError, NotImplementedError, TypeError):
        return None
    if n and not ptr:
        return None
    return ptr, n


PLAIN = (torch.Tensor, torch.nn.Parameter)


def _tensors(value) -> tuple | None:
    """The tensors in what autograd holds for one saved tensor; None: packed out of sight."""
    if isinstance(value, torch.Tensor):
        return (value,)
    if isinstance(value, (tuple, list)) and any(isinstance(v, torch.Tensor) for v in value):
        return tuple(v for v in value if isinstance(v, torch.Tensor))
    return None


def measure(fns: list, leaves: list, taken: list | None = None) -> Memory:
    """The saved storages of a live graph's Nodes ``fns`` (index = node id); ``leaves``:
    the graph's leaf tensors (every leaf an op saved is one of its inputs, so among them),
    whose storages (and views of them) count as parameters. ``taken``: per node, the
    storages ``record()`` took when the Node was made, flat (address, bytes, address...;
    see ``saved.saved_with_storages``), None where it did not: only those Nodes are read.
    One tight loop: it runs inside ``trace`` under ``record()``, within 10% of its time."""
    mem = Memory(held=[()] * len(fns), unknown=[0] * len(fns))
    index: dict[int, int] = {}  # storage address -> storage index
    params = {found[0] for found in map(storage_of, leaves) if found is not None}
    reasons: set[str] = set()
    for nid, fn in enumerate(fns):
        found = taken[nid] if taken is not None else None
        if found is None:
            found = _held_storages(fn)
        if not found:
            continue
        held: list[int] = []
        unknown = 0
        pairs = iter(found)
        for address, n in zip(pairs, pairs):
            if address is None or address is PACKED:
                unknown += 1
                reasons.add(address or NO_STORAGE)
                continue
            s = index.get(address)
            if s is None:
                s = index[address] = len(mem.bytes)
                mem.bytes.append(n)
                mem.address.append(address)
                mem.kind.append("parameter" if address in params else "activation")
            if s not in held:
                held.append(s)
        mem.held[nid] = tuple(held)
        mem.unknown[nid] = unknown
    mem.reasons = sorted(reasons)
    return mem


def _held_storages(fn) -> list:
    """Per tensor the Node holds, read without unpacking and flat: address and bytes, or
    None, 0 for one without ordinary storage, or :data:`PACKED`, 0."""
    out = []
    for value in internals.held_for_backward(fn):
        if value is None:
            continue
        tensors = (value,) if type(value) in PLAIN else _tensors(value)
        if tensors is None:
            out.extend((PACKED, 0))
        else:
            for t in tensors:
                out.extend(storage_of(t) or (None, 0))
    return out


def released(fns: list, order) -> bool | None:
    """Whether backward released the saved tensors: the first nodes that ran (up to 256)
    hold nothing now, although they have saved slots. None when none of them has any."""
    slots = 0
    for nid in order[:256]:
        held = internals.held_for_backward(fns[nid])
        if any(v is not None for v in held):
            return False
        slots += len(held)
    return True if slots else None


def of_graph(graph, taken: list | None = None) -> Memory:
    """Measure a live graph now (not measured if backward already released it); a loaded
    graph's memory comes from its session. ``taken``: as for :func:`measure`."""
    fns = graph.cols.fn
    if not fns or fns[0] is None:
        return Memory.not_measured(len(graph))
    if released(fns, graph.capture.order if graph.capture.ran else range(len(fns))):
        return Memory.not_measured(len(fns))  # traced after backward, or since it ran
    leaves = [fn.variable for fn, kind in zip(fns, graph.cols.kind) if kind == "leaf"]
    return measure(fns, leaves, taken)


def timeline(graph) -> list[dict]:
    """:meth:`Memory.timeline` over the graph's captured backward order; whether that pass
    released its saved tensors is read from the live Nodes once it has run."""
    mem = graph.memory
    mem.require()
    fns = graph.cols.fn
    if mem.released is None and graph.capture.ran and fns and fns[0] is not None:
        mem.released = released(fns, graph.capture.order)
    return mem.timeline(graph.capture.order)


@dataclass(frozen=True)
class HeldCurve:
    """What autograd still holds for backward at each point of :func:`timeline` (0: before
    backward, k: after the k-th node ran), as the player's memory chart and the
    ``--steps backward`` pages draw it."""

    held: tuple[int, ...]  # activations and parameters
    activation: tuple[int, ...]

    @classmethod
    def of(cls, graph) -> "HeldCurve | None":
        """None when there is nothing to draw: not measured, or no backward captured."""
        if not graph.memory.measured or not graph.capture.order:
            return None
        steps = timeline(graph)
        return cls(tuple(s["activation"] + s["parameter"] for s in steps),
                   tuple(s["activation"] for s in steps))

    @staticmethod
    def after(step: int) -> int:
        """The point just after the player's backward ``step`` (counted from 0) has run."""
        return step + 1


# -- sessions and JSON -------------------------------------------------------------------
def to_dict(graph) -> dict | None:
    """The graph's memory as plain data for a session (None: not measured)."""
    mem = graph.memory
    if not mem.measured:
        return None
    timeline(graph)  # settles whether backward released them
    return {"bytes": mem.bytes, "kind": mem.kind, "held": [list(h) for h in mem.held],
            "unknown": mem.unknown, "reasons": mem.reasons, "released": mem.released}


def from_dict(d: dict | None, nodes: int) -> Memory:
    """The inverse of :func:`to_dict`, from a checked session (see session_schema.STORAGES)."""
    if d is None:
        return Memory.not_measured(nodes)
    return Memory(bytes=d["bytes"], kind=d["kind"], held=[tuple(h) for h in d["held"]],
                  unknown=d["unknown"], reasons=d["reasons"], released=d["released"])


def export_dict(graph) -> dict | None:
    """Totals, per module and the timeline, for the ``.json`` export (None: not measured)."""
    if not graph.memory.measured:
        return None
    return {**graph.memory.totals(), "unknown": sum(graph.memory.unknown),
            "unknown_reasons": graph.memory.reasons, "by_module": graph.memory_by_module(),
            "timeline": graph.memory_timeline()}
