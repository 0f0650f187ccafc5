"""The desktop app's speed: first painted graph, click to inspector, repaint at fit-to-window.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/app.py [--sizes 1000,20000,100000]

For the seed example and GPT-like graphs (benchmarks/models.py) of about 1,000, 20,000 and
100,000 autograd nodes, plus 5,000 nodes fully expanded (the repaint target), it prints:

* capture: forward + backward under ``gradviz.record()``/``trace`` (context, not the app);
* first paint: a new MainWindow is given the captured graph (what ``gradviz.show`` does)
  until the graph has been laid out (in the worker) and painted once; each graph has a new
  structure, so the layout cache never helps. "(drawing)" is the part of it after the
  layout job finished: building the scene items and the first paint, on the GUI thread;
* click: a real mouse click on a node's position until the inspector shows it (median of 5,
  at 1:1 zoom where fit-to-window makes nodes too small to hit);
* repaint: one full paint of the view at fit-to-window zoom (median of 5).

Targets (issue 4, on a 2-core machine): first paint within 1 s for the seed and 3 s for
20,000 nodes (collapsed by module), click under 50 ms, repaint under 30 ms at 5,000
visible nodes. Figures are wall-clock seconds on this machine, not ratios: nothing else
draws the same window to compare with.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import statistics
import sys
import time
import warnings
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).parent))

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

import gradviz  # noqa: E402
from gradviz.sources import open_source  # noqa: E402
from models import build  # noqa: E402


def seed():
    """The seed demo, run as `gradviz demo linear` runs it (its prints kept out of the table)."""
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return open_source("linear").passes[-1]


def gpt(nodes: int):
    _, forward = build("gpt", nodes, width=8)
    with gradviz.record():
        loss = forward()
    g = gradviz.trace(loss)
    loss.backward()
    return g


def wait_for(app, condition, timeout: float = 600.0) -> None:
    end = time.perf_counter() + timeout
    while not condition():
        if time.perf_counter() > end:
            raise TimeoutError("the window did not get there in time")
        app.processEvents()
        time.sleep(0.001)


def measure(app, graph, collapsed=None) -> dict:
    from gradviz.app.window import MainWindow

    drawn, laid_out = [], []
    start = time.perf_counter()
    window = MainWindow()
    window.resize(1280, 800)
    window.layout_applied.connect(lambda: drawn.append(True))
    window.runner.idle.connect(lambda: laid_out.append(time.perf_counter()))  # job done
    window.show()
    window.set_graph(graph, collapsed=collapsed)
    wait_for(app, lambda: drawn)
    view = window.view
    view.viewport().grab()  # the first paint of the graph
    end = time.perf_counter()
    first, drawing = end - start, end - laid_out[0]

    # click: nodes nearest the middle of the window, through their real positions, at 1:1
    # zoom when fit-to-window makes nodes smaller than a pixel
    if view.scale_factor() < 0.5:
        view.zoom(1 / view.scale_factor())
    centre = view.mapToScene(view.viewport().rect().center())
    keys = sorted(view.nodes, key=lambda k: (view.nodes[k].sceneBoundingRect().center() - centre)
                  .manhattanLength())[:5]
    clicks = []
    for key in keys:
        pos = view.mapFromScene(view.nodes[key].sceneBoundingRect().center())
        if view.key_at(pos) != key:
            continue
        t = time.perf_counter()
        QTest.mouseClick(view.viewport(), Qt.LeftButton, Qt.NoModifier, pos)
        assert window.inspector.key == key
        clicks.append(time.perf_counter() - t)
        QTest.qWait(500)  # the next click must not count as a double click

    view.fit()
    paints = []
    for _ in range(5):
        t = time.perf_counter()
        view.viewport().grab()
        paints.append(time.perf_counter() - t)
    result = {"visible": len(view.nodes), "engine": window.layout_data.engine, "first": first,
              "drawing": drawing,
              "click": statistics.median(clicks) if clicks else float("nan"),
              "repaint": statistics.median(paints)}
    window.close()
    window.deleteLater()
    app.processEvents()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000,20000,100000",
                        help="GPT-like graph sizes in autograd nodes (default: %(default)s)")
    args = parser.parse_args()
    app = QApplication.instance() or QApplication([])
    cases = [("seed (linear)", seed, None)]
    cases += [(f"gpt ~{n:,}", lambda n=n: gpt(n), None) for n in map(int, args.sizes.split(","))]
    cases.append(("gpt ~5,000 expanded", lambda: gpt(5000), frozenset()))
    print(f"{'graph':<22}{'nodes':>8}{'visible':>9}  {'engine':<8}{'capture s':>10}"
          f"{'first paint s':>15}{'(drawing s)':>12}{'click ms':>10}{'repaint ms':>12}")
    for name, make, collapsed in cases:
        t = time.perf_counter()
        graph = make()
        capture = time.perf_counter() - t
        r = measure(app, graph, collapsed)
        print(f"{name:<22}{len(graph):>8,}{r['visible']:>9,}  {r['engine']:<8}{capture:>10.2f}"
              f"{r['first']:>15.2f}{r['drawing']:>12.2f}{r['click'] * 1000:>10.1f}"
              f"{r['repaint'] * 1000:>12.1f}", flush=True)


if __name__ == "__main__":
    main()
