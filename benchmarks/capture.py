"""Cost of capturing gradients, as ratios against plain PyTorch measured in the same run.

    .venv/bin/python benchmarks/capture.py [--sizes 1000,20000,100000] [--repeat 5] [--threads 1]
                                           [--budget 256MiB] [--flows]

For each graph (GPT-like and MLP, narrow and realistic width, about 1,000 / 20,000 /
100,000 autograd nodes) it prints:
  trace/walk   gradviz.trace against the bare grad_fn walk          target <= 4x
  bwd ratio    backward with capture (at --budget) against a plain backward
                                                                     target <= 1.5x (w=256), 2x (narrow)
  kept MB      the whole gradients the pass kept within --budget (default gradviz's 256 MiB)
  extra MB     how much capture at --budget raises the pass's peak of tensor memory (forward,
               trace and backward, counted by torch.profiler's allocation events, against the
               same pass without gradviz): within the budget, the kept gradients
  mem ratio    that rise with budget=0 (every gradient past the budget: summaries only) against
               the bytes of autograd's saved activations (parameters excluded: they exist with
               or without autograd)                                   target <= 25%
  flows ratio  (with --flows) backward capturing the flow along every edge as well
               (``trace(flows=True)``) against capture without flows   target <= 1.3x (w=256)
  flows MB     how much more the flows raise the pass's peak than capture without them (they
               count against the same budget)
  rss ratio    (with --rss) the same against the growth of the process's peak resident memory,
               measured in two fresh processes (plain, then with capture): this one also
               counts Python objects (hook dicts, tuples, tensor wrappers), not just tensors
Times are medians over ``--repeat`` fresh graphs, ratios the medians of the ratios of each
repeat's own pair (walk and trace; plain and captured backward, in turns, back to back);
forward passes are never timed.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
import models  # noqa: E402

import gradviz  # noqa: E402
from gradviz.core.budget import DEFAULT_BUDGET, parse_budget  # noqa: E402
from gradviz.core.trace import gc_paused  # noqa: E402

TARGETS = {"trace": 4.0, "bwd": {16: 2.0, 256: 1.5}, "mem": 0.25, "flows": {256: 1.3}}


def timed(fn, *args) -> tuple[float, object]:
    """(seconds, result) of ``fn(*args)``."""
    start = time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - start, result


def saved_activation_bytes(forward) -> tuple[torch.Tensor, int]:
    """Run ``forward`` and add up the storages autograd saves, parameters excluded."""
    storages: dict[int, int] = {}

    def pack(t):
        if not (t.is_leaf and t.requires_grad):
            s = t.untyped_storage()
            storages[s.data_ptr()] = s.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        loss = forward()
    return loss, sum(storages.values())


@contextmanager
def stderr_silenced():
    """The profiler's C++ side logs its start and stop to file descriptor 2."""
    saved = os.dup(2)
    with open(os.devnull, "w") as devnull:
        os.dup2(devnull.fileno(), 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def allocated_peak(forward, budget: int | None, flows: bool = False) -> tuple[int, int]:
    """The most tensor bytes allocated at once during a forward and backward pass, counted
    from the pass's start by the profiler's allocation events (an untimed pass of its own),
    and the bytes of whole gradients capture kept; ``budget`` None: without gradviz."""
    with stderr_silenced(), torch.profiler.profile(
            activities=[torch.profiler.ProfilerActivity.CPU], profile_memory=True) as prof:
        loss = forward()
        graph = (gradviz.trace(loss, budget=budget, flows=flows) if budget is not None
                 else None)
        loss.backward()
        kept = graph.capture.budget.used if graph is not None else 0
        del loss, graph
    events = [e for e in prof.profiler.kineto_results.events() if e.name() == "[memory]"]
    events.sort(key=lambda e: e.start_ns())
    total = peak = 0
    for e in events:
        total += e.nbytes()  # negative for a free
        peak = max(peak, total)
    return peak, kept


def extra_peak(forward, model, budget: int, base: int | None = None,
               flows: bool = False) -> tuple[int, int]:
    """How much capture raises a pass's peak of tensor memory (the whole gradients it keeps,
    its queue and sketches, and the gradients autograd could not reuse or steal while
    capture held them) over a pass at ``base`` (None: without gradviz), and the bytes of
    whole gradients it kept."""
    peaks = []
    for run, with_flows in ((base, False), (budget, flows)):
        model.zero_grad(set_to_none=True)
        peaks.append(allocated_peak(forward, run, with_flows))
    model.zero_grad(set_to_none=True)
    return peaks[1][0] - peaks[0][0], peaks[1][1]


RSS_PROBE = """
import gc, sys, threading, torch
sys.path.insert(0, {here!r})
import models, gradviz
torch.set_num_threads(1)
def main():
    model, forward = models.build({kind!r}, {nodes}, {width})
    forward().backward()  # the warm-up sets the plain peak
    model.zero_grad(set_to_none=True)
    gc.collect()
    loss = forward()
    graph = gradviz.trace(loss) if {capture} else None
    loss.backward()
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent across exec
    hwm = next(line for line in open("/proc/self/status") if line.startswith("VmHWM"))
    print(int(hwm.split()[1]) * 1024)
threading.stack_size(1 << 29)
t = threading.Thread(target=main)
t.start()
t.join()
"""


def rss_growth(kind: str, nodes: int, width: int) -> int:
    """Peak RSS with capture minus peak RSS without, each in a fresh process."""
    peaks = []
    for capture in (False, True):
        code = RSS_PROBE.format(here=str(Path(__file__).parent), kind=kind, nodes=nodes,
                                width=width, capture=capture)
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        peaks.append(int(out.stdout.split()[-1]))
    return peaks[1] - peaks[0]


def measure(kind: str, nodes: int, width: int, repeat: int, budget: int,
            flows: bool = False) -> dict:
    model, forward = models.build(kind, nodes, width)
    forward().backward()  # warm-up: first calls initialise kernels and allocator pools
    model.zero_grad(set_to_none=True)
    # on a graph of its own: its pack/unpack hooks would slow the backward they are on
    loss, saved = saved_activation_bytes(forward)
    del loss
    walk, trace, plain, captured, flowed = [], [], [], [], []
    for _ in range(repeat):
        loss = forward()
        with gc_paused():  # the same conditions gradviz.trace gives itself
            walk.append(timed(models.count_nodes, loss)[0])
        seconds, g = timed(gradviz.trace, loss)
        trace.append(seconds)
        g.capture.disarm()
        del g, loss
    # Plain and captured backward in turns, each after the same steps: a slow spell of a
    # shared machine then slows both, and what ran before (the allocator's state) is alike.
    model.zero_grad(set_to_none=True)
    for _ in range(repeat):
        loss = forward()
        plain.append(timed(loss.backward)[0])
        del loss
        model.zero_grad(set_to_none=True)
        loss = forward()
        g = gradviz.trace(loss, budget=budget, flows=False)
        captured.append(timed(loss.backward)[0])
        size = len(g)
        del g, loss
        model.zero_grad(set_to_none=True)
        if flows:
            loss = forward()
            g = gradviz.trace(loss, budget=budget, flows=True)
            flowed.append(timed(loss.backward)[0])
            del g, loss
            model.zero_grad(set_to_none=True)
    extra, kept = extra_peak(forward, model, budget)
    flows_extra = extra_peak(forward, model, budget, budget, True)[0] if flows else 0
    summaries = extra_peak(forward, model, 0)[0]
    med = statistics.median
    return {"kind": kind, "width": width, "nodes": size, "walk": med(walk), "trace": med(trace),
            "plain": med(plain), "captured": med(captured), "saved": saved, "extra": extra,
            "kept": kept, "summaries": summaries,
            "trace/walk": med(t / w for t, w in zip(trace, walk)),
            "bwd ratio": med(c / p for c, p in zip(captured, plain)),
            "flows ratio": med(f / c for f, c in zip(flowed, captured)) if flows else 0.0,
            "flows extra": flows_extra}


def graph_options(parser, sizes: str) -> None:
    """The options every benchmark over the generated graphs takes (memory.py's too)."""
    parser.add_argument("--sizes", default=sizes)
    parser.add_argument("--widths", default="16,256")
    parser.add_argument("--kinds", default="gpt,mlp")
    parser.add_argument("--repeat", type=int, default=5)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    graph_options(parser, sizes="1000,20000,100000")
    parser.add_argument("--rss", action="store_true", help="also measure peak RSS growth")
    parser.add_argument("--flows", action="store_true",
                        help="also measure capturing the flow along every edge (trace(flows=True))")
    parser.add_argument("--budget", default=DEFAULT_BUDGET, type=parse_budget,
                        help="gradviz.trace's budget for whole gradients (default 256MiB)")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads (1: on a shared 2-core machine more threads make "
                             "timings swing by 10x when another process holds a core)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} thread(s), median of {args.repeat}")
    header = (f"{'graph':<10}{'width':>6}{'nodes':>9}{'walk s':>9}{'trace s':>9}{'trace/walk':>11}"
              f"{'bwd s':>9}{'+capture s':>11}{'bwd ratio':>10}{'saved MB':>10}{'kept MB':>9}"
              f"{'extra MB':>9}{'mem ratio':>10}"
              + (f"{'flows ratio':>12}{'flows MB':>9}" if args.flows else "")
              + (f"{'rss ratio':>10}" if args.rss else ""))
    print(header)
    print("-" * len(header))
    failures = []
    for kind in args.kinds.split(","):
        for width in map(int, args.widths.split(",")):
            for nodes in map(int, args.sizes.split(",")):
                # small graphs take milliseconds: more pairs, for the same steadiness
                r = measure(kind, nodes, width, args.repeat * (4 if nodes <= 5000 else 1), args.budget,
                            args.flows)
                tr, br, mr = r["trace/walk"], r["bwd ratio"], r["summaries"] / r["saved"]
                print(f"{kind:<10}{width:>6}{r['nodes']:>9}{r['walk']:>9.3f}{r['trace']:>9.3f}{tr:>10.2f}x"
                      f"{r['plain']:>9.3f}{r['captured']:>11.3f}{br:>9.2f}x{r['saved'] / 1e6:>10.2f}"
                      f"{r['kept'] / 1e6:>9.2f}{r['extra'] / 1e6:>9.2f}{mr:>9.0%}"
                      + (f"{r['flows ratio']:>11.2f}x{r['flows extra'] / 1e6:>9.2f}"
                         if args.flows else "")
                      + (f"{rss_growth(kind, nodes, width) / r['saved']:>10.0%}" if args.rss else ""),
                      flush=True)
                bwd_target = TARGETS["bwd"].get(width, 2.0)
                for name, value, target in (("trace/walk", tr, TARGETS["trace"]),
                                            ("bwd ratio", br, bwd_target), ("mem ratio", mr, TARGETS["mem"]),
                                            ("flows ratio", r["flows ratio"],
                                             TARGETS["flows"].get(width, math.inf))):
                    if value > target:
                        failures.append(f"{kind} w={width} n={r['nodes']}: {name} {value:.2f} > {target}")
    print()
    print("all targets met" if not failures else "targets missed:\n  " + "\n  ".join(failures))
    return 0


def in_big_stack(fn):
    """Run ``fn`` in a thread with a 512 MB stack: PyTorch itself overflows the default 8 MB
    stack while freeing a 100,000-node graph of a deep model (a segfault without gradviz)."""
    threading.stack_size(1 << 29)
    result = []
    thread = threading.Thread(target=lambda: result.append(fn()))
    thread.start()
    thread.join()
    return result[0] if result else 1


if __name__ == "__main__":
    sys.exit(in_big_stack(main))
