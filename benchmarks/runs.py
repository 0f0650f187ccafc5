"""Training under ``gradviz run --every K``: what untraced and traced steps cost, and the history.

    .venv/bin/python benchmarks/runs.py [--width 256] [--layers 2] [--steps 40] [--rounds 3]

A small transformer (torch.nn.TransformerEncoder, width 256, batch 4 x 32 tokens, one thread, AdamW) trains
in a script that times each of its own steps. Each round runs it three ways back to back:
plainly (runpy, no gradviz), under ``run_script(every=steps)`` (step 1 traced, the others
untraced) and under ``run_script(every=1)`` (every step traced). It prints the median step
time of each, and the ratios against plain steps of the same round (median over rounds):
  untraced / plain    target <= 1.05x
  traced / plain      what a traced step costs (record(), trace, capture, history)
then the history's bytes per node per pass, and its projection for a 20,000-node model
traced 10,000 times (target < 4 GB).
"""

from __future__ import annotations

import argparse
import json
import math
import runpy
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from capture import stderr_silenced  # noqa: E402

from gradviz.core import history  # noqa: E402
from gradviz.core.runner import run_script  # noqa: E402

SCRIPT = '''
import json, sys, time
import torch
width, layers, steps, out = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
torch.manual_seed(0)
torch.set_num_threads(1)  # steadier on a shared machine
layer = torch.nn.TransformerEncoderLayer(width, 4, 4 * width, dropout=0.1, batch_first=True)
model = torch.nn.Sequential(torch.nn.Embedding(1000, width),
                            torch.nn.TransformerEncoder(layer, layers, enable_nested_tensor=False),
                            torch.nn.Linear(width, 1000))
opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
tokens = torch.randint(0, 1000, (4, 32))
times = []
for step in range(steps):
    start = time.perf_counter()
    opt.zero_grad()
    logits = model(tokens)
    loss = torch.nn.functional.cross_entropy(logits.reshape(-1, 1000), tokens.reshape(-1))
    loss.backward()
    opt.step()
    times.append(time.perf_counter() - start)
with open(out, "w") as f:
    json.dump(times, f)
'''

TARGET_UNTRACED = 1.05
TARGET_BYTES = 4e9


def _times(how: str, script: Path, argv: list[str], out: Path, steps: int):
    """Per-step seconds of one run (the first step of each dropped: warm-up, or traced)."""
    result = None
    if how == "plain":
        saved = sys.argv
        sys.argv = [str(script), *argv]
        try:
            runpy.run_path(str(script), run_name="__main__")
        finally:
            sys.argv = saved
    else:
        with stderr_silenced():
            result = run_script(script, argv, every=steps if how == "untraced" else 1)
    return json.loads(out.read_text())[1:], result


def training_options(width: int, steps: int, rounds: int) -> argparse.ArgumentParser:
    """The options of a benchmark that runs :data:`SCRIPT` (``benchmarks/live.py`` too)."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--width", type=int, default=width)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--steps", type=int, default=steps)
    parser.add_argument("--rounds", type=int, default=rounds)
    return parser


def training_script(opts) -> tuple[Path, Path, list[str]]:
    """:data:`SCRIPT` written to a fresh folder, the file it writes its step times to, and
    its argv for ``opts``."""
    folder = Path(tempfile.mkdtemp(prefix="gradviz-runs-"))
    script, out = folder / "train.py", folder / "times.json"
    script.write_text(SCRIPT)
    return script, out, [str(opts.width), str(opts.layers), str(opts.steps), str(out)]


def main() -> None:
    opts = training_options(width=256, steps=40, rounds=5).parse_args()
    script, out, argv = training_script(opts)
    ratios = {"untraced": [], "traced": []}
    traced_run = None
    print(f"transformer width {opts.width}, {opts.layers} layers, {opts.steps} steps per run")
    print(f"{'round':>5} {'plain ms':>9} {'untraced ms':>12} {'traced ms':>10} "
          f"{'untraced/plain':>15} {'traced/plain':>13}")
    for r in range(opts.rounds):
        order = ["plain", "untraced", "traced"] if r % 2 == 0 else ["traced", "untraced", "plain"]
        med = {}
        for how in order:
            times, result = _times(how, script, argv, out, opts.steps)
            if how == "traced":
                times = times[:max(3, opts.steps // 4)]  # traced steps are slow: a few suffice
                traced_run = result.run
            med[how] = statistics.median(times)
        for how in ratios:
            ratios[how].append(med[how] / med["plain"])
        print(f"{r + 1:>5} {med['plain'] * 1e3:>9.1f} {med['untraced'] * 1e3:>12.1f} "
              f"{med['traced'] * 1e3:>10.1f} {ratios['untraced'][-1]:>14.3f}x "
              f"{ratios['traced'][-1]:>12.2f}x")
    untraced, traced = (statistics.median(ratios[k]) for k in ("untraced", "traced"))
    verdict = "ok" if untraced <= TARGET_UNTRACED else "OVER TARGET"
    print(f"untraced step / plain step: {untraced:.3f}x (target <= {TARGET_UNTRACED}x: {verdict})")
    print(f"traced step / plain step:   {traced:.2f}x")

    store = traced_run._history
    nodes, passes = len(store.keys), len(store)
    rows = math.ceil(passes / history.CHUNK) * history.CHUNK
    print(f"history: {nodes} node keys x {passes} passes, {store.nbytes:,} bytes allocated "
          f"({store.nbytes / (nodes * rows):.1f} bytes per node per pass allocated, "
          f"{store.nbytes / (nodes * passes):.1f} per pass used so far)")
    big_rows = math.ceil(10_000 / history.CHUNK) * history.CHUNK
    projected = 20_000 * big_rows * history.BYTES_PER_NODE
    verdict = "ok" if projected < TARGET_BYTES else "OVER TARGET"
    print(f"20,000 nodes traced 10,000 times: {projected / 1e9:.2f} GB (target < 4 GB: {verdict})")


if __name__ == "__main__":
    main()
