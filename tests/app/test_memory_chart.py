"""The backward player's memory chart: bytes still held after each step, the step marked."""

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget

from tests.app.conftest import draw, out
from tests.core.test_memory import blocks_after_backward


@pytest.fixture
def blocks_graph():
    return blocks_after_backward()


def step(qtbot, window, key):
    with qtbot.waitSignal(window.layout_applied, timeout=30_000):
        qtbot.keyClick(window.view, key)


def test_the_chart_plots_the_timeline_and_its_marker_follows_the_step(qtbot, window,
                                                                        blocks_graph):
    g = blocks_graph
    draw(qtbot, window, g)
    chart = window.player.memory
    assert not chart.isVisible()  # the player is off
    step(qtbot, window, Qt.Key_Space)
    qtbot.waitUntil(chart.isVisible, timeout=10_000)  # the curve is worked out off the GUI thread
    timeline = g.memory_timeline()
    xs, ys = chart.held.getData()
    held = [s["activation"] + s["parameter"] for s in timeline]
    assert list(xs) == [k - 0.5 for k in range(len(timeline) + 1)]  # one flat step each
    assert [round(y * chart.scale) for y in ys] == held
    _, acts = chart.activation.getData()
    assert [round(y * chart.scale) for y in acts] == [s["activation"] for s in timeline]
    assert held[-1] == 0 and held[0] == g.saved_bytes  # everything released by the end
    # the marker stands after the current node ran, and moves with the player
    assert chart.marked == 1 and timeline[1]["node"] == window.player.steps.order[0]
    step(qtbot, window, Qt.Key_Right)
    step(qtbot, window, Qt.Key_Right)
    assert chart.marked == 3
    (dot,) = chart.dot.points()
    assert round(dot.pos().y() * chart.scale) == held[3]
    assert f"After step 3 of {len(timeline) - 1}" in chart.caption.text()
    window.resize(1400, 900)
    window.screenshot(out("memory_chart_player.png"))
    step(qtbot, window, Qt.Key_End)
    assert chart.marked == len(timeline) - 1
    # presenter mode keeps the chart on screen (every other dock hides), in large type
    window.player.set_presenting(True)
    docks = [d for d in window.findChildren(QDockWidget) if d.isVisible()]
    assert docks == [chart]
    assert chart.caption.font().pointSize() == 18
    window.screenshot(out("memory_chart_presenter.png"))
    window.player.set_presenting(False)
    assert chart.caption.font().pointSize() == 9
    step(qtbot, window, Qt.Key_S)  # stop: the whole picture, no chart
    assert not chart.isVisible()


def test_forward_steps_show_no_chart(qtbot, window, blocks_graph):
    draw(qtbot, window, blocks_graph)
    window.player.mode_box.setCurrentIndex(window.player.mode_box.findData("forward"))
    step(qtbot, window, Qt.Key_Space)
    assert not window.player.memory.isVisible()


def test_the_curve_is_worked_out_off_the_gui_thread(qtbot, window, blocks_graph, monkeypatch):
    import threading

    from gradviz.app import jobs
    from gradviz.core.memory import HeldCurve

    threads, real = [], HeldCurve.of

    class Spy:
        @staticmethod
        def of(graph):
            threads.append(threading.current_thread())
            return real(graph)

    monkeypatch.setattr(jobs, "HeldCurve", Spy)
    draw(qtbot, window, blocks_graph)
    step(qtbot, window, Qt.Key_Space)
    qtbot.waitUntil(window.player.memory.isVisible, timeout=10_000)
    assert len(threads) == 1 and threads[0] is not threading.main_thread()
    step(qtbot, window, Qt.Key_Right)  # worked out once per graph
    assert len(threads) == 1 and window.player.memory.marked == 2
