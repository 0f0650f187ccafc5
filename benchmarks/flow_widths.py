"""What health mode's per-edge flow widths cost, as ratios against the same picture without
them, measured in the same run.

    .venv/bin/python benchmarks/flow_widths.py [--sizes 20000,100000] [--kinds gpt,mlp]
                                               [--repeat 3]

For GPT-like and MLP graphs of about the given numbers of autograd nodes, traced with
``flows=True`` (above 5,000 nodes flows are captured on demand only) and backward run, it
prints, in seconds (medians of ``--repeat``, each on a fresh graph) and as ratios with / w/o:
  layout     the first picture the app shows (folded by module) laid out in health mode,
             layout cache cold
  restyle    then health mode's scene of the whole picture, every node drawn (what ``restyle``
             redoes when the colouring is switched on with everything unfolded)
  again      the same restyle once more: what each player step costs in health mode
"W/o" is the same on another fresh graph with ``edgeflows.widths`` answering ``{}``: every
edge 1 pt, as when no flows were captured. Target: every ratio within 1.2x.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from contextlib import contextmanager, nullcontext
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import models  # noqa: E402

import gradviz  # noqa: E402
from gradviz.core.collapse import default_collapsed  # noqa: E402
from gradviz.core.viewmodel import Colouring, ViewModel  # noqa: E402
from gradviz.layout import cache, edgeflows, layout  # noqa: E402
from gradviz.layout.scene import build  # noqa: E402

TARGET = 1.2


def graph_of(kind: str, nodes: int):
    _, forward = models.build(kind, nodes, width=16)
    with gradviz.record():
        loss = forward()
    g = gradviz.trace(loss, flows=True)
    loss.backward()
    return g


@contextmanager
def no_widths():
    real = edgeflows.widths
    edgeflows.widths = lambda graph, view: {}
    try:
        yield
    finally:
        edgeflows.widths = real


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def measure(kind: str, nodes: int, widths: bool) -> tuple[float, float, float]:
    """(first picture's health layout, whole picture's health restyle, the same restyle
    again) on a fresh graph, in that order, with or without flow widths. A restyle is the
    scene ``build`` and the adoption of the old positions, which widths do not change: the
    build is timed, so that 100,000 nodes need no layout of every node (and its memory)."""
    g = graph_of(kind, nodes)
    health = ViewModel.of(g).changed(colouring=Colouring.HEALTH)
    first = ViewModel.of(g, collapsed=default_collapsed(g)).changed(colouring=Colouring.HEALTH)
    cache._store.clear()
    with nullcontext() if widths else no_widths():
        return (timed(lambda: layout(first)), timed(lambda: build(health)),
                timed(lambda: build(health)))


NAMES = ("layout", "restyle", "again")


def row(kind: str, nodes: int, repeat: int) -> list[str]:
    runs = {True: [], False: []}
    for _ in range(repeat):  # in turns, so a shared machine's noise hits both
        for widths in (False, True):
            runs[widths].append(measure(kind, nodes, widths))
    g = graph_of(kind, nodes)
    cells = [kind, f"{len(g):,}", f"{len(g.edges):,}"]
    for i, _ in enumerate(NAMES):
        with_ = statistics.median(r[i] for r in runs[True])
        without = statistics.median(r[i] for r in runs[False])
        cells += [f"{with_:.2f}", f"{without:.2f}", f"{with_ / without:.2f}x"]
    return cells


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="20000,100000")
    parser.add_argument("--kinds", default="gpt,mlp")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    head = ["kind", "nodes", "edges"] + [f"{n}{s}" for n in NAMES for s in ("", " w/o", " ratio")]
    print("\t".join(head))
    for kind in args.kinds.split(","):
        for size in (int(s) for s in args.sizes.split(",")):
            print("\t".join(row(kind, size, args.repeat)), flush=True)
    print(f"target: ratios <= {TARGET}x")


if __name__ == "__main__":
    from capture import in_big_stack  # PyTorch overflows 8 MB freeing a 100,000-node graph

    in_big_stack(main)
