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


def test_a_job_that_ends_after_its_window_closed_ends_quietly(qtbot, monkeypatch):
    # the gallery's pictures were still loading when Ctrl+C closed the window: the job's
    # reply went to a deleted runner and printed "Signal source has been deleted" at exit
    import threading

    from shiboken6 import delete

    errors, release = [], threading.Event()
    monkeypatch.setattr(threading, "excepthook", errors.append)
    runner = Runner()
    runner.submit("thumbnails", "pictures", lambda p, s: (release.wait(5), p("late", 1.0)),
                  lambda result: None)
    worker = next(t for t in threading.enumerate() if t.name == "gradviz-thumbnails")
    delete(runner)
    release.set()
    worker.join(5)
    assert not worker.is_alive() and errors == []


def test_idle_comes_after_the_result_is_applied_and_only_when_nothing_follows(qtbot):
    # --screenshot waits for idle: it came before the diagnosis was applied, so a failure
    # demo's screenshot showed no diagnosis bar
    runner = Runner()
    events = []
    runner.idle.connect(lambda: events.append("idle"))

    def first(result):
        events.append(result)
        runner.submit("y", "second", lambda p, s: "second", events.append)

    runner.submit("x", "first", lambda p, s: "first", first)
    qtbot.waitUntil(lambda: "second" in events and not runner.busy, timeout=5000)
    qtbot.wait(50)
    assert events == ["first", "second", "idle"]


def test_error_goes_to_handler_on_gui_thread(qtbot):
    runner = Runner()
    errors = []

    def boom(progress, should_stop):
        raise ValueError("bad")

    with qtbot.waitSignal(runner.idle, timeout=5000):
        runner.submit("x", "boom", boom, lambda r: None, errors.append)
    assert isinstance(errors[0], ValueError)


def test_event_loop_turns_while_a_large_layout_runs(qtbot, window, monkeypatch):
    import threading

    from gradviz.app import jobs

    graph = benchmark_graph("gpt", 1400)  # ~1,460 nodes, all expanded
    ticks = []
    ticked = threading.Event()  # set by the GUI thread's timer once it has turned 10 times

    def on_tick():
        ticks.append(time.perf_counter())
        if len(ticks) >= 10:
            ticked.set()

    real_layout = jobs.layout

    def layout_that_waits_for_the_gui(*args, **kwargs):
        # The real layout, then finish only once the GUI has turned while this job held the
        # worker: a frozen GUI thread would never tick, and this would time out below.
        result = real_layout(*args, **kwargs)
        assert ticked.wait(timeout=30), "the GUI thread did not turn while the layout ran"
        done.append(time.perf_counter())  # the job is done; its result is not drawn yet
        return result

    done = []  # when the job finished, before its result is drawn on the GUI thread
    monkeypatch.setattr(jobs, "layout", layout_that_waits_for_the_gui)
    timer = QTimer(interval=20, timeout=on_tick)
    timer.start()
    start = time.perf_counter()
    with qtbot.waitSignal(window.layout_applied, timeout=120_000):
        window.set_graph(graph, collapsed=frozenset())
        assert window.statusBar().findChild(ProgressStrip).isVisible()  # progress + Cancel
    timer.stop()
    ticks = [t for t in ticks if t <= done[0]]
    gaps = [b - a for a, b in zip([start, *ticks], ticks)]
    assert len(ticks) >= 10
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
