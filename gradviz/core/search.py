"""Search the graph by name, op or module path: the model behind the app's Ctrl+F."""

from __future__ import annotations

from .graph import GradGraph


def search(graph: GradGraph, text: str) -> list[int]:
    """Ids of nodes whose name, op or module contains ``text`` (case-insensitive).

    Exact name matches come first, then the rest in backward order when it is known
    (so "next" walks the graph the way gradients flow), else in id order.
    """
    needle = text.strip().lower()
    if not needle:
        return []
    c = graph.cols
    hits = [
        i for i in range(len(graph))
        if any(needle in (field[i] or "").lower() for field in (c.name, c.op, c.module))
    ]
    order = graph.capture.order_of

    def rank(i: int):
        exact = (c.name[i] or "").lower() != needle
        pos = order(i)
        return (exact, pos if pos is not None else len(graph) + i)

    return sorted(hits, key=rank)
