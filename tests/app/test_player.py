"""The lecture player in the window: keys move the step; marks, view and inspector follow."""

import os
import subprocess
import sys

import pytest
from PIL import Image
from pypdf import PdfReader
from PySide6.QtCore import Qt

from gradviz.app.player import export_steps_to
from gradviz.app.presenter import PENS, READABLE_SCALE
from gradviz.sources import open_source
from tests.app.conftest import ROOT, draw, out

KEYS = {"next": Qt.Key_Space, "right": Qt.Key_Right, "left": Qt.Key_Left, "home": Qt.Key_Home,
        "end": Qt.Key_End, "values": Qt.Key_V, "present": Qt.Key_F5, "theme": Qt.Key_T, "stop": Qt.Key_S}


def press(qtbot, window, key: str):
    """Press ``key`` as a user would (on the graph view) and wait until it is drawn."""
    with qtbot.waitSignal(window.layout_applied, timeout=30_000):
        qtbot.keyClick(window.view, KEYS[key])


def current(window):
    return window.model.state.current


def on_screen(view, key) -> bool:
    pos = view.mapFromScene(view.nodes[key].sceneBoundingRect().center())
    return view.viewport().rect().contains(pos)


@pytest.fixture
def seed_window(qtbot, window, seed_graph):
    return draw(qtbot, window, seed_graph)


def test_keys_step_through_backward(qtbot, seed_window, seed_graph):
    window, (S, Z, W) = seed_window, (seed_graph.find(v).id for v in "SZW")
    assert window.model.state is None  # the player starts off: the whole picture
    press(qtbot, window, "next")
    assert current(window) == S and "backward 1/7: S" in window.player.caption.text()
    press(qtbot, window, "right")
    assert current(window) == Z
    assert window.layout_data.nodes[Z].mark == "current"
    assert window.layout_data.nodes[S].mark == "done"
    assert window.inspector.key == Z and "AddmmBackward0" in window.inspector.text()
    press(qtbot, window, "left")
    assert current(window) == S
    press(qtbot, window, "end")
    assert current(window) == W and window.inspector.key == W
    press(qtbot, window, "home")
    assert current(window) == S
    press(qtbot, window, "stop")
    assert window.model.state is None and window.layout_data.nodes[S].mark is None


def test_forward_mode_follows_creation_order(qtbot, seed_window, seed_graph):
    window = seed_window
    window.player.mode_box.setCurrentIndex(window.player.mode_box.findData("forward"))
    press(qtbot, window, "home")
    (user_t,) = seed_graph.successors()[seed_graph.find("W").id]
    assert current(window) == user_t
    press(qtbot, window, "end")
    assert current(window) == seed_graph.find("S").id
    assert not window.model.state.show_grad  # no gradient exists during forward


def test_view_follows_the_current_node(qtbot, seed_window, seed_graph):
    window, view = seed_window, seed_window.view
    W = seed_graph.find("W").id
    view.zoom(6.0)
    view.center_on(seed_graph.find("S").id)
    assert not on_screen(view, W)
    press(qtbot, window, "end")
    assert current(window) == W and on_screen(view, W)


def test_value_labels_reveal_gradients_as_reached(qtbot, seed_window, seed_graph):
    window, (Z, W) = seed_window, (seed_graph.find(v).id for v in "ZW")
    press(qtbot, window, "values")
    assert window.model.labels == "values"
    press(qtbot, window, "next")
    press(qtbot, window, "next")
    boxes = window.layout_data.nodes
    assert "grad ?" in boxes[W].lines
    assert "grad [[1, 1], [1, 1]]" in boxes[Z].lines
    window.screenshot(out("player_values_step2.png"))
    press(qtbot, window, "values")
    assert window.model.labels == "compact"


def test_play_advances_on_each_tick_and_stops_at_the_end(qtbot, seed_window):
    window, player = seed_window, seed_window.player
    with qtbot.waitSignal(window.layout_applied, timeout=30_000):
        player.acts["play"].trigger()
    assert player.timer.isActive() and player.step == 0
    player.timer.setInterval(3_600_000)  # the ticks below only: a real one raced them when
    # a step took over a second to draw on a loaded machine
    for step in range(1, 7):
        with qtbot.waitSignal(window.layout_applied, timeout=30_000):
            player.timer.timeout.emit()
        assert player.step == step
    player.timer.timeout.emit()  # at the last step: playing stops
    assert not player.timer.isActive() and not player.acts["play"].isChecked()


def test_presenter_mode_at_1080p(qtbot, seed_window, seed_graph):
    window, view = seed_window, seed_window.view
    press(qtbot, window, "next")
    qtbot.keyClick(window.view, KEYS["present"])
    assert window.isFullScreen()
    assert not window.menuBar().isVisible() and not window.inspector.isVisible()
    assert not window.statusBar().isVisible() and window.player.isVisible()
    press(qtbot, window, "theme")
    assert window.layout_data.background != "#ffffff" and window.isFullScreen()
    press(qtbot, window, "theme")
    window.resize(1920, 1080)  # the offscreen screen is smaller than a projector
    press(qtbot, window, "right")
    Z = seed_graph.find("Z").id
    assert view.nodes[Z].box.pen == PENS["current"]
    assert view.scale_factor() >= READABLE_SCALE and on_screen(view, Z)
    window.screenshot(out("presenter_1080p.png"))
    assert Image.open(out("presenter_1080p.png")).size == (1920, 1080)
    press(qtbot, window, "theme")
    window.screenshot(out("presenter_1080p_dark.png"))
    qtbot.keyClick(window.view, Qt.Key_Escape)  # leaves presenter mode, as F5 does
    assert not window.isFullScreen() and window.menuBar().isVisible()
    assert window.inspector.isVisible() and view.nodes[Z].box.pen < PENS["current"]
    qtbot.keyClick(window.view, KEYS["present"])
    qtbot.keyClick(window.view, KEYS["present"])
    assert not window.isFullScreen()
    view.select(Z)
    qtbot.keyClick(window.view, Qt.Key_Escape)  # outside presenter mode Esc is the view's
    assert view.selected is None


def test_folding_a_module_keeps_the_step(qtbot, window):
    graph = open_source("mlp").passes[0]
    draw(qtbot, window, graph)
    press(qtbot, window, "next")
    press(qtbot, window, "right")
    press(qtbot, window, "right")
    assert graph.cols.module[current(window)] == "fc2"
    with qtbot.waitSignal(window.layout_applied, timeout=30_000):
        window.view.module_toggled.emit("fc2")
    assert window.model.collapsed == {"fc2"} and current(window) == "module:fc2"
    assert window.layout_data.nodes["module:fc2"].mark == "current"
    assert window.inspector.key == "module:fc2"


def test_steps_fold_the_graph_once_per_picture(qtbot, window, monkeypatch):
    from gradviz.core import viewmodel

    folded, fold = [], viewmodel.view
    monkeypatch.setattr(viewmodel, "view", lambda g, c: folded.append(set(c)) or fold(g, c))
    graph = open_source("mlp").passes[0]
    draw(qtbot, window, graph)
    for _ in range(3):
        press(qtbot, window, "next")
    assert folded == [set()]
    with qtbot.waitSignal(window.layout_applied, timeout=30_000):
        window.view.module_toggled.emit("fc2")
    press(qtbot, window, "next")
    assert folded == [set(), {"fc2"}]


def test_export_steps_from_the_app(qtbot, seed_window, tmp_path):
    path = tmp_path / "steps.pdf"
    assert "export_steps" in seed_window.actions_by_name
    press(qtbot, seed_window, "values")  # pages look as the player does
    export_steps_to(seed_window, str(path), "backward")
    qtbot.waitUntil(lambda: "Exported" in seed_window.statusBar().currentMessage(), timeout=30_000)
    pages = PdfReader(path).pages
    assert len(pages) == 7 and "grad ?" in pages[0].extract_text()


def test_step_from_the_command_line():
    shot = out("cli_demo_linear_step2.png")
    shot.unlink(missing_ok=True)
    res = subprocess.run([sys.executable, "-m", "gradviz.cli", "demo", "linear", "--step", "2",
                          "--screenshot", str(shot)], capture_output=True, text=True, cwd=ROOT,
                         env={**os.environ, "QT_QPA_PLATFORM": "offscreen"}, timeout=120)
    assert res.returncode == 0, res.stderr
    assert Image.open(shot).size[0] >= 800


def _lit(window) -> set:
    return {(e.src, e.dst) for e in window.layout_data.edges if e.mark == "current"}


def test_backward_step_lights_the_flows_it_sent_and_presenter_shows_values(qtbot, window,
                                                                           monkeypatch):
    from tests.demos.harness import run_demo

    graph = run_demo("accumulate", monkeypatch).passes[0].graph
    draw(qtbot, window, graph)
    A, C, D = (graph.find(v).id for v in "ACD")
    order_of, view = graph.capture.order_of, window.view
    press(qtbot, window, "values")
    for step, nid in enumerate(graph.capture.order):
        press(qtbot, window, "next")
        assert current(window) == nid
        assert _lit(window) == {(src, dst) for src, dst, _ in graph.edges if dst == nid}
        a_lines = window.layout_data.nodes[A].lines
        assert ("grad [5, 6, 7]" in a_lines) == (step >= max(order_of(C), order_of(D)))
        assert ("grad ?" in a_lines) == (step < max(order_of(C), order_of(D)))
        if nid == C:
            window.screenshot(out("player_backward_flows.png"))
    press(qtbot, window, "values")
    assert window.model.labels == "compact"
    press(qtbot, window, "present")  # a small graph: values labels on, a new layout fitted
    assert window.isFullScreen() and window.model.labels == "values"
    whole = view.mapFromScene(view.scene().itemsBoundingRect()).boundingRect()
    assert view.viewport().rect().contains(whole)
    window.screenshot(out("presenter_values.png"))
    with qtbot.waitSignal(window.layout_applied, timeout=30_000):
        qtbot.keyClick(window.view, Qt.Key_Escape)
    assert not window.isFullScreen() and window.model.labels == "compact"
