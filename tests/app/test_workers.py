"""Long work runs off the GUI thread: the loop keeps turning, stale results are dropped."""

import time

from PySide6.QtCore import QTimer

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
    graph = benchmark_graph("gpt", 3000)
    ticks = []
    timer = QTimer(interval=20, timeout=lambda: ticks.append(time.perf_counter()))
    timer.start()
    start = time.perf_counter()
    with qtbot.waitSignal(window.layout_applied, timeout=120_000):
        window.set_graph(graph, collapsed=frozenset())  # every node: the slowest layout
        assert window.statusBar().findChild(ProgressStrip).isVisible()  # progress + Cancel
    elapsed = time.perf_counter() - start
    timer.stop()
    assert elapsed > 0.5, "the layout was too quick to prove anything"
    during = [t for t in ticks if t - start < elapsed - 0.3]  # ticks while the job ran
    gaps = [b - a for a, b in zip(during, during[1:])]
    assert len(during) > elapsed / 0.2, f"{len(during)} ticks in {elapsed:.1f} s"
    assert max(gaps) < 0.5, f"the GUI froze for {max(gaps):.2f} s"
    assert len(window.view.nodes) > 2500
    window.screenshot(out("large_fit.png"))
