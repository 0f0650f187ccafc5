"""A training run followed live in the window: does the window stay responsive, and what does
following cost the script?

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/live.py [--width 64] [--layers 2]
                                                [--steps 150] [--every 5] [--rounds 3]

A small transformer (as benchmarks/runs.py's, narrower) trains for ``--steps`` steps, each
``--every``-th traced, two ways back to back in each round (in turns):
  headless   run_script as the window calls it (a Stop check), with no window
  live       the same in the window (``window.open_source``): each pass listed, plotted in
             the timeline, the newest followed (laid out and drawn)
It prints the script's own median step time of each and their ratio, median over rounds
(target <= 1.5x: the window competes with the script for the interpreter), and the gaps
between the ticks of a 20 ms timer on the GUI thread during the live runs against the same
timer with nothing running (median, 95th percentile, longest): how long the window is ever
unresponsive.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from runs import training_options, training_script  # noqa: E402

from gradviz.core.runner import run_script  # noqa: E402

TARGET_SLOWDOWN = 1.5
TICK_MS = 20


def _gaps(app, until, tick_ms: int = TICK_MS) -> list[float]:
    """Seconds between the ticks of a ``tick_ms`` timer while ``until()`` is False."""
    from PySide6.QtCore import QTimer

    gaps, last = [], [time.perf_counter()]

    def beat():
        now = time.perf_counter()
        gaps.append(now - last[0])
        last[0] = now

    timer = QTimer(interval=tick_ms, timeout=beat)
    timer.start()
    while not until():
        app.processEvents()
        time.sleep(0.001)
    timer.stop()
    return gaps


def _summary(gaps: list[float]) -> str:
    g = sorted(gaps)
    return (f"median {statistics.median(g) * 1e3:6.1f} ms  p95 {g[int(len(g) * 0.95)] * 1e3:6.1f}"
            f" ms  longest {g[-1] * 1e3:6.1f} ms")


def main() -> None:
    parser = training_options(width=64, steps=150, rounds=3)
    parser.add_argument("--every", type=int, default=5)
    opts = parser.parse_args()
    script, out, argv = training_script(opts)

    from PySide6.QtWidgets import QApplication

    from gradviz.app.window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    window = MainWindow()
    window.resize(1280, 800)
    window.show()
    start = time.perf_counter()
    idle = _gaps(app, lambda: time.perf_counter() - start > 3)
    ratios, live_gaps = [], []
    print(f"transformer width {opts.width}, {opts.layers} layers, {opts.steps} steps, "
          f"every {opts.every}-th traced")
    print(f"{'round':>5} {'headless ms':>12} {'live ms':>8} {'live/headless':>14}")
    for r in range(opts.rounds):
        med = {}
        for how in ("headless", "live") if r % 2 == 0 else ("live", "headless"):
            if how == "headless":
                run_script(script, argv, every=opts.every, should_stop=lambda: False)
            else:
                window.open_source(str(script), argv, every=opts.every)
                live_gaps += _gaps(app, lambda: not window.live.running)
            med[how] = statistics.median(json.loads(out.read_text())[1:])
        ratios.append(med["live"] / med["headless"])
        print(f"{r + 1:>5} {med['headless'] * 1e3:>12.1f} {med['live'] * 1e3:>8.1f} "
              f"{ratios[-1]:>13.2f}x")
    print(f"{window.live.run.traced} passes traced a run, {len(window.graph)} nodes a pass; "
          f"the newest shown at the end: pass {window.graph.info.get('index')}")
    ratio = statistics.median(ratios)
    verdict = "ok" if ratio <= TARGET_SLOWDOWN else "OVER TARGET"
    print(f"script step live / headless: {ratio:.2f}x (target <= {TARGET_SLOWDOWN}x: {verdict})")
    print(f"GUI timer gaps, idle: {_summary(idle)}")
    print(f"GUI timer gaps, live: {_summary(live_gaps)}")
    window.close()


if __name__ == "__main__":
    main()
