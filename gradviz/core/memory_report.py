"""The memory part of the graph summary, in words: where the saved bytes are, and what
checkpointing the heaviest repeated block would save. Qt-free: the inspector shows it."""

from __future__ import annotations

from collections import defaultdict

import torch

from .budget import format_bytes
from .contiguous import prefixes
from .graph import GradGraph

TOP = 10


def heaviest_nodes(graph: GradGraph, n: int = TOP) -> list:
    """The ``n`` nodes that saved the most bytes, heaviest first."""
    mem = graph.memory
    mem.require()
    ids = sorted((i for i in range(len(graph)) if mem.held[i]),
                 key=lambda i: (-mem.node_bytes(i), i))
    return [graph.node(i) for i in ids[:n]]


def heaviest_modules(graph: GradGraph, n: int = TOP) -> list[tuple[str, dict]]:
    """(path, totals) of the ``n`` modules whose ops saved the most, heaviest first."""
    modules = graph.memory_by_module()
    return sorted(modules.items(), key=lambda kv: (-kv[1]["bytes"], kv[0]))[:n]


def _members(graph: GradGraph) -> dict[str, list[int]]:
    """Module path -> the node ids inside it (submodules included)."""
    out: dict[str, list[int]] = defaultdict(list)
    paths: dict = {}  # module -> its prefixes, worked out once per distinct module
    for nid, module in enumerate(graph.cols.module):
        found = paths.get(module)
        if found is None:
            found = paths[module] = _prefixes(module)
        for path in found:
            out[path].append(nid)
    return out


def repeated_blocks(graph: GradGraph, members: dict | None = None) -> list[list[str]]:
    """Groups of alike blocks: siblings numbered like a ``ModuleList``'s children
    (``layers.0``, ``layers.1``...) with the same submodules. Their ops may differ a little
    (the first block's input often needs no gradient, which spares it a few nodes)."""
    members = _members(graph) if members is None else members
    modules = graph.cols.module
    groups: dict[tuple, list[str]] = defaultdict(list)
    for path, nids in members.items():
        parent, _, last = path.rpartition(".")
        if last.isdigit():
            inner = frozenset(modules[i][len(path):] for i in nids)
            groups[(parent, inner)].append(path)
    return [paths for paths in groups.values() if len(paths) > 1]


def _nbytes(meta) -> int:
    shape, dtype, _ = meta
    size = getattr(torch, dtype, None)
    itemsize = size.itemsize if isinstance(size, torch.dtype) else 0
    count = 1
    for d in shape:
        count *= d
    return count * itemsize


def _prefixes(module: str | None) -> list[str]:
    return prefixes(module) if module else []


def _common(paths: list) -> str | None:
    """The deepest module that holds every one of ``paths`` (None if one is None)."""
    if not paths or any(p is None for p in paths):
        return None
    parts = paths[0].split(".")
    for p in paths[1:]:
        other = p.split(".")
        n = 0
        while n < min(len(parts), len(other)) and parts[n] == other[n]:
            n += 1
        parts = parts[:n]
    return ".".join(parts) or None


def savings(graph: GradGraph) -> dict[str, tuple[int, int]]:
    """Per module path: (activation bytes held only by the ops inside it, bytes of the tensors
    that enter it from outside): what ``torch.utils.checkpoint`` on it would free, and keep
    instead. One pass over the storages and one over the edges, for every module at once."""
    mem = graph.memory
    mem.require()
    modules = graph.cols.module
    own: dict[str, int] = defaultdict(int)
    for s, owners in enumerate(mem.owners()):
        if mem.kind[s] == "activation":
            for path in _prefixes(_common([modules[o] for o in owners])):
                own[path] += mem.bytes[s]
    entering: dict[str, set] = defaultdict(set)
    for src, dst, port in graph.edges:
        if graph.cols.kind[src] == "leaf":
            continue
        outside = set(_prefixes(modules[src]))
        for path in _prefixes(modules[dst]):
            if path not in outside:
                entering[path].add((src, port))
    out = {}
    for path in set(own) | set(entering):
        inputs = 0
        for src, port in entering.get(path, ()):
            meta = graph.meta(src)
            inputs += _nbytes(meta[port]) if port < len(meta) else 0
        out[path] = (own.get(path, 0), inputs)
    return out


def checkpoint_saving(graph: GradGraph, path: str) -> tuple[int, int]:
    """:func:`savings` of one module."""
    return savings(graph).get(path, (0, 0))


def suggestion(graph: GradGraph, members: dict | None = None) -> str | None:
    """What checkpointing the heaviest repeated block would save, as a suggestion."""
    best = None
    saved = None
    for paths in repeated_blocks(graph, members):
        saved = saved or savings(graph)
        gain = {p: saved.get(p, (0, 0)) for p in paths}
        path = max(paths, key=lambda p: gain[p][0] - gain[p][1])
        if best is None or gain[path][0] - gain[path][1] > best[1] - best[2]:
            total = sum(max(0, own - inputs) for own, inputs in gain.values())
            best = (path, *gain[path], len(paths), total)
    if best is None or best[1] <= best[2]:
        return None
    path, own, inputs, copies, total = best
    return (f"torch.utils.checkpoint on {path} (one of {copies} alike blocks) could free about "
            f"{format_bytes(own - inputs)} held for backward: its activations, "
            f"{format_bytes(own)}, less its inputs, {format_bytes(inputs)}, which checkpoint "
            f"keeps; on all {copies}, about {format_bytes(total)}. Backward then runs each "
            "block's forward again.")


def summary_text(graph: GradGraph) -> str:
    """Totals, the ten heaviest nodes and modules with their lines, and the suggestion."""
    mem = graph.memory
    if not mem.measured:
        return ("Saved for backward: not measured (backward had released it; run the forward "
                "inside gradviz.record() to keep the figures)")
    t = mem.totals()
    lines = [f"Saved for backward: {format_bytes(t['bytes'])} ({t['activation share']:.0%} "
             f"activations, {format_bytes(t['parameter'])} parameters and inputs that "
             "require grad)"]
    unknown = sum(mem.unknown)
    if unknown:
        lines.append(f"  and {unknown} saved tensor{'s' if unknown > 1 else ''} of unknown size: "
                     + "; ".join(mem.reasons))
    nodes = heaviest_nodes(graph)
    owners = mem.owners()
    if nodes:
        lines.append("Heaviest nodes:")
        for node in nodes:
            shared = mem.shared_with(node.id, owners)
            others = sorted({o for ids in shared.values() for o in ids})
            lines.append(f"  {format_bytes(node.saved_bytes):>10}  {node.label}"
                         + (f"  {node.module}" if node.module else "")
                         + (f"  {node.source}" if node.source else "")
                         + (f"  (shared with #{', #'.join(map(str, others[:3]))})" if others else ""))
    modules = heaviest_modules(graph)
    members = _members(graph)
    if modules:
        lines.append("Heaviest modules:")
        for path, totals in modules:
            heavy = max(members[path], key=lambda i: mem.node_bytes(i) if mem.held[i] else 0)
            source = graph.cols.source[heavy]
            lines.append(f"  {format_bytes(totals['bytes']):>10}  {path}"
                         + (f"  {source}" if source else ""))
    advice = suggestion(graph, members)
    if advice:
        lines.append("Suggestion: " + advice)
    return "\n".join(lines)
