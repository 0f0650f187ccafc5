"""From a captured graph to a picture: gradviz against torchviz, measured in the same run.

    .venv/bin/python benchmarks/layout.py [--sizes 100,1000,5000,20000,100000]
                                          [--kinds gpt,mlp,gpt-tied] [--timeout 120]

For GPT-like and MLP graphs of about the given numbers of autograd nodes (built by
``models.py``, every layer its own module as in a real model, recorded so that module paths
exist) it prints, in seconds:
  walk      the bare grad_fn walk (``models.count_nodes``): the floor for anything
  full      every autograd node drawn: captured graph -> written SVG (cold layout cache)
  torchviz  ``make_dot(loss).render(format="svg")`` on the same graph, in a subprocess with
            the recursion limit raised and a big thread stack, capped at --timeout ("> T")
Times are the median of 7 runs up to 1,000 nodes (torchviz too) and of 3 up to 5,000 (gradviz
only), each with a cold layout cache: small graphs take milliseconds, and the median is what
a shared machine's noise moves least.
  ratio     torchviz / full: targets >= 1 at every size, >= 5 from 5,000 nodes up
  no reuse  full without one layout per distinct structure (``gradviz.layout.blocks``), and
  blocks    how many distinct block structures were laid out / how many blocks they served
  first     the first readable picture (collapsed by module, what the app shows first) ->
            SVG; targets 1 s up to 1,000 nodes, 5 s at 20,000, 15 s at 100,000
  geometry  the Layout the app draws for that first picture (no file)
  visible   how many boxes the first picture has, and the engine that placed them
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
import models  # noqa: E402
from capture import in_big_stack  # noqa: E402

import gradviz  # noqa: E402
from gradviz.core.collapse import default_collapsed, view  # noqa: E402
from gradviz.layout import blocks, cache, layout, scene_of  # noqa: E402

WIDTH = 16  # narrow: the graph's size is what is measured, not the arithmetic
# Every layer its own module (no weight sharing), so the module tree is a real model's;
# a kind ending in "-tied" shares one block's weights across all layers instead (ALBERT,
# tied or unrolled-RNN weights: one parameter read by every layer of the picture).
UNSHARED = 10**9
models.SHARE_ABOVE = UNSHARED
TIED = "-tied"

TORCHVIZ = """
import sys, threading, time
sys.path.insert(0, {here!r})
import models
models.SHARE_ABOVE = {share_above}
from torchviz import make_dot
model, forward = models.build({kind!r}, {nodes}, {width})
loss = forward()
sys.setrecursionlimit(10**7)
threading.stack_size(1 << 29)
def run():
    for _ in range({repeat}):
        start = time.perf_counter()
        make_dot(loss, params=dict(model.named_parameters())).render({out!r}, format="svg")
        print(time.perf_counter() - start, flush=True)
t = threading.Thread(target=run)
t.start()
t.join()
"""


def timed(fn, repeat: int = 1) -> float:
    """Median of ``repeat`` runs, each with a cold layout cache."""
    times = []
    for _ in range(repeat):
        cache._store.clear()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def torchviz_seconds(kind: str, nodes: int, timeout: float, out: str, repeat: int) -> str:
    """Median of ``repeat`` renders in one subprocess (the model is built once)."""
    base, share_above = _kind(kind)
    code = TORCHVIZ.format(here=str(HERE), kind=base, nodes=nodes, width=WIDTH, out=out,
                           repeat=repeat, share_above=share_above)
    # its own process group: on timeout the `dot` that torchviz started dies with it
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return f"> {timeout:g}"
    lines = stdout.split()
    if proc.returncode != 0 or not lines:
        last = (stderr.strip().splitlines() or [f"exit status {proc.returncode}"])[-1]
        return f"failed ({last[:40]})"
    return _seconds(statistics.median(map(float, lines)))


def _seconds(t: float) -> str:
    """Three significant digits below 1 s: small graphs differ in milliseconds."""
    return f"{t:.3f}" if t < 1 else f"{t:.2f}"


def _kind(kind: str) -> tuple[str, int]:
    """(the models.py kind, its SHARE_ABOVE)."""
    return (kind.removesuffix(TIED), 0) if kind.endswith(TIED) else (kind, UNSHARED)


def measure(kind: str, nodes: int, timeout: float, tmp: Path) -> list[str]:
    repeat = 7 if nodes <= 1000 else 3 if nodes <= 5000 else 1
    base, models.SHARE_ABOVE = _kind(kind)
    model, forward = models.build(base, nodes, WIDTH)
    with gradviz.record():
        loss = forward()
    graph = gradviz.trace(loss)
    loss.backward()
    walk = timed(lambda: models.count_nodes(loss), repeat)
    full = timed(lambda: gradviz.export(graph, tmp / "full.svg", collapsed=()), repeat)
    found = blocks.find_blocks(scene_of(graph))
    reused = f"{len({b.signature for b in found})}/{len(found)}" if found else "-"
    enabled, blocks.find_blocks = blocks.find_blocks, lambda scene: []
    whole = timed(lambda: gradviz.export(graph, tmp / "whole.svg", collapsed=()), repeat)
    blocks.find_blocks = enabled
    # torchviz takes a minute from 5,000 nodes on: repeats there would only hit the timeout
    theirs = torchviz_seconds(kind, nodes, timeout, str(tmp / "torchviz"),
                              repeat if nodes <= 1000 else 1)
    first = timed(lambda: gradviz.export(graph, tmp / "first.svg"), repeat)
    collapsed = default_collapsed(graph)
    placed = None

    def geometry():
        nonlocal placed
        placed = layout(graph, collapsed=collapsed)

    geo = timed(geometry, repeat)
    try:
        ratio = f"{float(theirs.lstrip('> ')) / full:.2f}"
        ratio = ("> " if theirs.startswith(">") else "") + ratio
    except ValueError:
        ratio = "-"
    shown = len(view(graph, collapsed).keys)
    row = [kind, str(len(graph)), f"{walk:.3f}", _seconds(full), theirs, ratio, _seconds(whole),
           reused, _seconds(first), _seconds(geo), f"{shown} {placed.engine}"]
    return row


def row_in_subprocess(kind: str, size: int, timeout: float) -> list[str]:
    """One table row measured in a fresh interpreter: every size starts from the same
    state, and freeing a 100,000-node autograd graph (which can overflow the C stack on
    exit) cannot take the rest of the table with it."""
    done = subprocess.run([sys.executable, __file__, "--row", f"{kind},{size}",
                           "--timeout", str(timeout)], capture_output=True, text=True)
    rows = [line.split("\t") for line in done.stdout.splitlines() if line.count("\t") == 10]
    if rows:
        return rows[-1]
    last = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
    return [kind, f"~{size}", f"failed: {last[:60]}"] + [""] * 8


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="100,1000,5000,20000,100000")
    parser.add_argument("--kinds", default="gpt,mlp,gpt-tied")
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--row", help=argparse.SUPPRESS)  # KIND,SIZE: one row, tab-separated
    args = parser.parse_args()
    if args.row:
        kind, size = args.row.split(",")
        with tempfile.TemporaryDirectory() as tmp:
            row = in_big_stack(lambda: measure(kind, int(size), args.timeout, Path(tmp)))
        print("\t".join(row), flush=True)
        return
    head = ["graph", "nodes", "walk s", "full s", "torchviz s", "ratio", "no reuse s", "blocks",
            "first s", "geometry s", "visible engine"]
    rows = [head]
    print("  ".join(head), flush=True)
    for kind in args.kinds.split(","):
        for size in map(int, args.sizes.split(",")):
            rows.append(row_in_subprocess(kind, size, args.timeout))
            print("  ".join(rows[-1]), flush=True)
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    print()
    for r in rows:
        print("  ".join(cell.rjust(w) for cell, w in zip(r, widths)).rstrip())


if __name__ == "__main__":
    main()
