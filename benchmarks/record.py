"""Cost of ``gradviz.record()`` on a transformer's forward, against the plain forward and
against ``torch.autograd.set_detect_anomaly(True)``, measured in the same run.

    .venv/bin/python benchmarks/record.py [--widths 32,256] [--repeat 15] [--batch 4]
                                          [--model hf|gpt] [--seq 64] [--cap N] [--threads 1]

The model (``--model``) is transformers' GPT-2 with 4 layers ("hf", the default when
``transformers`` is installed: it is no dependency of gradviz, ``pip install transformers`` into
the venv to use it) or the GPT-like model of ``models.py`` with 4 blocks ("gpt"). For each width it prints:
  fwd s      the plain forward (loss included), median
  record     the forward inside ``with gradviz.record():`` / the plain forward
                                                           target <= 2.5x (w=256), 4x (narrow)
  anomaly    the forward inside ``torch.autograd.set_detect_anomaly(True)`` / the plain forward
  values     recorded values, and how many of them are over the cap (summarised)
  kept MB    bytes the recorded snapshots hold (whole values and samples)
  rss MB     growth of resident memory from one recorded forward and its trace, kept alive,
             beyond one plain forward kept alive, each in a fresh process
Ratios are medians of each repeat's own ratio: plain, recorded and anomaly forwards run in
turns, back to back, so a slow spell of the shared machine slows all three.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
import models  # noqa: E402

import gradviz  # noqa: E402
from gradviz.core.snapshot import RECORD_CAP  # noqa: E402

TARGET_WIDE, TARGET_NARROW = 2.5, 4.0  # realistic width (256 and up), narrow
LAYERS = 4
VOCAB = 1000


def has_transformers() -> bool:
    try:
        import transformers  # noqa: F401
    except ImportError:
        return False
    return True


def build(model: str, width: int, batch: int, seq: int):
    """``forward()`` -> loss of a 4-layer GPT-2 of ``width``: transformers' (``model``
    "hf") or ``models.GPT`` ("gpt")."""
    torch.manual_seed(0)
    tokens = torch.randint(0, VOCAB, (batch, seq))
    if model == "gpt":
        gpt = models.GPT(LAYERS, width, vocab=VOCAB)
        return lambda: torch.nn.functional.cross_entropy(gpt(tokens).flatten(0, 1),
                                                         tokens.flatten())
    import transformers

    transformers.logging.set_verbosity_error()
    config = transformers.GPT2Config(n_layer=LAYERS, n_embd=width, n_head=4, vocab_size=VOCAB,
                                     n_positions=seq, bos_token_id=0, eos_token_id=0)
    hf = transformers.GPT2LMHeadModel(config)
    return lambda: hf(tokens, labels=tokens).loss


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def measure(model: str, width: int, batch: int, seq: int, repeat: int, cap: int) -> dict:
    forward = build(model, width, batch, seq)

    def recorded():
        with gradviz.record(cap):
            return forward()

    def anomaly():
        with torch.autograd.set_detect_anomaly(True):
            return forward()

    for fn in (forward, recorded, anomaly):  # warm-up
        fn()
    plain, rec, anom = [], [], []
    for _ in range(repeat):
        plain.append(timed(forward))
        rec.append(timed(recorded))
        anom.append(timed(anomaly))
    graph = gradviz.trace(recorded())
    snaps = [s for n in graph.nodes if n.kind != "leaf" for s in n.value_snapshots
             if s is not None]
    held = (s.data if s.data is not None else s.sample for s in snaps)
    kept = sum(t.numel() * t.element_size() for t in held if t is not None)
    med = statistics.median
    return {"model": model, "width": width, "plain": med(plain),
            "record": med(r / p for r, p in zip(rec, plain)),
            "anomaly": med(a / p for a, p in zip(anom, plain)),
            "values": len(snaps), "summarised": sum(s.data is None for s in snaps),
            "kept": kept, "rss": rss_growth(model, width, batch, seq, cap)}


RSS_PROBE = """
import gc, sys, torch
sys.path.insert(0, {here!r})
import record as bench, gradviz
torch.set_num_threads(1)
forward = bench.build({model!r}, {width}, {batch}, {seq})
forward()  # warm-up: kernels, allocator pools
gc.collect()
def rss():
    return int(next(l for l in open("/proc/self/status") if l.startswith("VmRSS")).split()[1])
before = rss()
if {record}:
    with gradviz.record({cap}):
        loss = forward()
    graph = gradviz.trace(loss)
else:
    loss = forward()
gc.collect()
print((rss() - before) * 1024)
"""


def rss_growth(model: str, width: int, batch: int, seq: int, cap: int) -> int:
    """Resident memory a recorded forward (and its trace) adds beyond a plain one, each
    measured from after a warm-up forward in a fresh process."""
    grown = []
    for record in (False, True):
        code = RSS_PROBE.format(here=str(HERE), model=model, width=width, batch=batch, seq=seq,
                                record=record, cap=cap)
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True)
        grown.append(int(out.stdout.split()[-1]))
    return grown[1] - grown[0]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", choices=("hf", "gpt"),
                        default="hf" if has_transformers() else "gpt",
                        help="transformers' GPT-2 (default when installed) or models.GPT")
    parser.add_argument("--widths", default="32,256")
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--seq", type=int, default=64)
    parser.add_argument("--cap", type=int, default=RECORD_CAP,
                        help=f"record()'s cap: values kept whole up to it (default {RECORD_CAP})")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads (1: on a shared 2-core machine more threads make "
                             "timings swing when another process holds a core)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} thread(s), median of {args.repeat}, "
          f"{LAYERS} layers, {args.batch}x{args.seq} tokens, cap {args.cap}")
    header = (f"{'model':<7}{'width':>6}{'fwd s':>9}{'record':>9}{'anomaly':>9}"
              f"{'values':>8}{'summ.':>7}{'kept MB':>9}{'rss MB':>8}")
    print(header)
    print("-" * len(header))
    failures = []
    for width in map(int, args.widths.split(",")):
        r = measure(args.model, width, args.batch, args.seq, args.repeat, args.cap)
        print(f"{r['model']:<7}{width:>6}{r['plain']:>9.4f}{r['record']:>8.2f}x"
              f"{r['anomaly']:>8.2f}x{r['values']:>8}{r['summarised']:>7}"
              f"{r['kept'] / 2**20:>9.2f}{r['rss'] / 2**20:>8.1f}", flush=True)
        target = TARGET_WIDE if width >= 256 else TARGET_NARROW
        if r["record"] > target:
            failures.append(f"w={width}: record {r['record']:.2f}x > {target}x")
    print()
    print("all targets met" if not failures else "targets missed:\n  " + "\n  ".join(failures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
