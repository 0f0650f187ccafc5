"""What diagnosing a traced pass costs, against the traced step it diagnoses.

    .venv/bin/python benchmarks/diagnosis.py [--sizes 2000,20000] [--width 16] [--repeat 3]

For each graph (GPT-like and MLP, from ``models.py``) it prints:
  step s        a forward under ``gradviz.record()``, ``trace`` and backward
  diagnose s    ``diagnose(graph)`` on that fresh graph (every check; the app runs it in a
                worker once the graph is drawn, the CLI once per pass)
  ratio         the two, run by run                                        target <= 1.0x
  ctrl+n s      ``nonfinite_nodes(graph)``: the list Ctrl+N steps through, found at its first press
Times are medians over ``--repeat`` fresh graphs.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import models  # noqa: E402
from capture import in_big_stack  # noqa: E402

import gradviz  # noqa: E402
from gradviz.core.diagnoses.nonfinite import nonfinite_nodes  # noqa: E402
from gradviz.core.diagnosis import diagnose  # noqa: E402

TARGET = 1.0


def one(forward) -> tuple[float, float, float]:
    start = time.perf_counter()
    with gradviz.record():
        loss = forward()
    graph = gradviz.trace(loss)
    loss.backward()
    step = time.perf_counter() - start
    start = time.perf_counter()
    diagnose(graph)
    checked = time.perf_counter() - start
    start = time.perf_counter()
    nonfinite_nodes(graph)
    return step, checked, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="2000,20000")
    parser.add_argument("--width", type=int, default=16)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"{'graph':>12} {'nodes':>7} {'step s':>8} {'diagnose s':>11} {'ratio':>7} "
          f"{'ctrl+n s':>9}")
    for kind in ("gpt", "mlp"):
        for size in map(int, args.sizes.split(",")):
            _, forward = models.build(kind, size, args.width)
            runs = [in_big_stack(lambda: one(forward)) for _ in range(args.repeat)]
            step, checked, ctrl_n = (statistics.median(r[i] for r in runs) for i in range(3))
            ratio = statistics.median(r[1] / r[0] for r in runs)
            flag = "" if ratio <= TARGET else "  over target"
            print(f"{kind:>12} {size:>7} {step:8.3f} {checked:11.3f} {ratio:6.2f}x "
                  f"{ctrl_n:9.3f}{flag}")


if __name__ == "__main__":
    main()
