"""The memory part of the graph summary, in words: where the saved bytes are, and what
checkpointing the heaviest repeated block would save. Qt-free: the inspector shows it."""

from __future__ import annotations

from collections import defaultdict

import torch

from .budget import format_bytes
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
    for nid, module in enumerate(graph.cols.module):
        if module:
            parts = module.split(".")
            for i in range(1, len(parts) + 1):
                out[".".join(parts[:i])].append(nid)
    return out


def repeated_blocks(graph: GradGraph) -> list[list[str]]:
    """Groups of alike blocks: siblings numbered like a ``ModuleList``'s children
    (``layers.0``, ``layers.1``...) with the same submodules. Their ops may differ a little
    (the first block's input often needs no gradient, which spares it a few nodes)."""
    members = _members(graph)
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


def checkpoint_saving(graph: GradGraph, path: str) -> tuple[int, int]:
    """(activation bytes held only by the ops inside ``path``, bytes of the tensors that enter
    it from outside): what ``torch.utils.checkpoint`` on it would free, and keep instead."""
    mem = graph.memory
    mem.require()
    inside = set(_members(graph)[path])
    owners = mem.owners()
    own = {s for i in inside for s in mem.held[i]
           if mem.kind[s] == "activation" and all(o in inside for o in owners[s])}
    entering = {(src, port) for src, dst, port in graph.edges
                if dst in inside and src not in inside and graph.cols.kind[src] != "leaf"}
    inputs = 0
    for src, port in entering:
        meta = graph.meta(src)
        if port < len(meta):
            inputs += _nbytes(meta[port])
    return sum(mem.bytes[s] for s in own), inputs


def suggestion(graph: GradGraph) -> str | None:
    """What checkpointing the heaviest repeated block would save, as a suggestion."""
    best = None
    for paths in repeated_blocks(graph):
        savings = {p: checkpoint_saving(graph, p) for p in paths}
        path = max(paths, key=lambda p: savings[p][0] - savings[p][1])
        if best is None or savings[path][0] - savings[path][1] > best[1] - best[2]:
            total = sum(max(0, own - inputs) for own, inputs in savings.values())
            best = (path, *savings[path], len(paths), total)
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
    if nodes:
        lines.append("Heaviest nodes:")
        for node in nodes:
            shared = mem.shared_with(node.id)
            others = sorted({o for ids in shared.values() for o in ids})
            lines.append(f"  {format_bytes(node.saved_bytes):>10}  {node.label}"
                         + (f"  {node.module}" if node.module else "")
                         + (f"  {node.source}" if node.source else "")
                         + (f"  (shared with #{', #'.join(map(str, others[:3]))})" if others else ""))
    modules = heaviest_modules(graph)
    if modules:
        members = _members(graph)
        lines.append("Heaviest modules:")
        for path, totals in modules:
            heavy = max(members[path], key=lambda i: mem.node_bytes(i) or 0)
            source = graph.cols.source[heavy]
            lines.append(f"  {format_bytes(totals['bytes']):>10}  {path}"
                         + (f"  {source}" if source else ""))
    advice = suggestion(graph)
    if advice:
        lines.append("Suggestion: " + advice)
    return "\n".join(lines)
