"""Windows on real graphs for the GUI tests; every picture a test makes lands in tests/_out/."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch

import gradviz
from tests.core.seed import tensors

OUT = Path(__file__).parent.parent / "_out"
ROOT = Path(__file__).parent.parent.parent


def out(name: str) -> Path:
    OUT.mkdir(exist_ok=True)
    return OUT / name


@pytest.fixture(autouse=True)
def own_settings(tmp_path):
    """Recent files and other QSettings go to a temporary folder, not the user's."""
    from PySide6.QtCore import QSettings

    for fmt in (QSettings.NativeFormat, QSettings.IniFormat):
        QSettings.setPath(fmt, QSettings.UserScope, str(tmp_path / "settings"))


@pytest.fixture
def seed_graph():
    """The seed example, recorded (Z's value kept) and traced before backward."""
    X, W, B = tensors()
    with gradviz.record():
        Z = torch.nn.functional.linear(X, W.t(), B)
        S = Z.sum()
    g = gradviz.trace(S)
    S.backward()
    return g


def benchmark_graph(kind: str, nodes: int, width: int = 8):
    """A recorded GPT-like or MLP graph from benchmarks/models.py, with gradients."""
    spec = importlib.util.spec_from_file_location("bench_models", ROOT / "benchmarks" / "models.py")
    models = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(models)
    model, forward = models.build(kind, nodes, width)
    with gradviz.record():
        loss = forward()
    g = gradviz.trace(loss)
    loss.backward()
    return g


@pytest.fixture
def window(qtbot):
    from gradviz.app.window import MainWindow

    w = MainWindow()
    qtbot.addWidget(w)
    w.resize(1280, 800)
    w.show()
    qtbot.waitExposed(w)
    return w


def draw(qtbot, window, graph, **kwargs):
    """Set ``graph`` and wait until its layout is drawn."""
    with qtbot.waitSignal(window.layout_applied, timeout=20_000):
        window.set_graph(graph, **kwargs)
    return window


def summary(qtbot, window) -> str:
    """The inspector's text once its graph summary, worked out off the GUI thread, is in."""
    qtbot.waitUntil(lambda: window.inspector.SUMMING not in window.inspector.text(),
                    timeout=10_000)
    return window.inspector.text()


def click(qtbot, view, key, button=None, double=False):
    """Click the node ``key`` where it really is on screen."""
    from PySide6.QtCore import Qt

    item = view.nodes[key]
    pos = view.mapFromScene(item.sceneBoundingRect().center())
    assert view.viewport().rect().contains(pos), "node is not on screen"
    if double:
        qtbot.mouseDClick(view.viewport(), button or Qt.LeftButton, pos=pos)
    else:
        qtbot.mouseClick(view.viewport(), button or Qt.LeftButton, pos=pos)
