"""Long work runs off the GUI thread: the loop keeps turning, stale results are dropped."""

import time

from PySide6.QtCore import Qt, QTimer

from gradviz.app.progress import ProgressStrip
from gradviz.app.workers import Runner
from tests.app.conftest import benchmark_graph, out


def test_stale_result_is_dropped(qtbot):
    runner = Runner()
    got = []

    def slow(progress, should_stop):
        for _ in range(50):
            if should_stop():
                break
            time.sleep(0.01)
        return "slow"

    runner.submit("layout", "slow", slow, got.append)
    runner.submit("layout", "fast", lambda p, s: "fast", got.append)
    qtbot.waitUntil(lambda: not runner.busy, timeout=5000)
    qtbot.wait(600)  # the slow one has finished by now, and must not have been applied
    assert got == ["fast"]


def test_error_goes_to_handler_on_gui_thread(qtbot):
    runner = Runner()
    errors = []

    def boom(progress, should_stop):
        raise ValueError("bad")

    with qtbot.waitSignal(runner.idle, timeout=5000):
        runner.submit("x", "boom", boom, lambda r: None, errors.append)
    assert isinstance(errors[0], ValueError)


def test_event_loop_turns_while_a_large_layout_runs(qtbot, window):
    graph = benchmark_graph("gpt", 1400)  # ~1,460 nodes, all expanded: about 1 s of dot
    ticks = []
    timer = QTimer(interval=20, timeout=lambda: ticks.append(time.perf_counter()))
    timer.start()
    done = []  # when the job finished, before its result is drawn on the GUI thread
    window.runner.idle.connect(lambda: done.append(time.perf_counter()))
    start = time.perf_counter()
    with qtbot.waitSignal(window.layout_applied, timeout=120_000):
        window.set_graph(graph, collapsed=frozenset())
        assert window.statusBar().findChild(ProgressStrip).isVisible()  # progress + Cancel
    timer.stop()
    elapsed = done[0] - start
    ticks = [t for t in ticks if t <= done[0]]
    assert elapsed > 0.3, "the layout was too quick to prove anything"
    gaps = [b - a for a, b in zip([start, *ticks], ticks)]
    assert len(ticks) >= elapsed / 0.1, f"{len(ticks)} ticks in {elapsed:.2f} s"
    assert max(gaps) < 0.25, f"the GUI froze for {max(gaps):.2f} s"
    assert len(window.view.nodes) > 1400
    window.screenshot(out("large_fit.png"))


def test_cancel_drops_the_running_layout(qtbot, window, seed_graph):
    graph = benchmark_graph("gpt", 1300)
    applied = []
    window.layout_applied.connect(lambda: applied.append(window.layout_data))
    window.set_graph(graph, collapsed=frozenset())
    strip = window.statusBar().findChild(ProgressStrip)
    qtbot.mouseClick(strip.cancel, Qt.LeftButton)
    assert not window.runner.busy and not strip.isVisible()
    qtbot.wait(2500)
    assert applied == []  # the cancelled layout never lands
