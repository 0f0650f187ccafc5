"""A training script followed live in the window: passes arriving while it runs, following the
newest or the pass the user picked, Stop, the console, and the timeline's figures against the
norms the script's own hooks took."""

from __future__ import annotations

import json
import math
import os

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt

from tests.app.conftest import out
from tests.test_runner import SCRIPTS

LOOP = str(SCRIPTS / "live_loop.py")


@pytest.fixture(autouse=True)
def stop_what_runs(window):
    """A test that fails while its loop runs forever must not leave it running: the next
    run would wait for it."""
    yield
    if window.live.task is not None:
        window.live.task.stop.set()


def _wait_traced(qtbot, window, n: int) -> None:
    qtbot.waitUntil(lambda: window.live.run is not None and window.live.run.traced >= n
                    and len(window.passes) >= min(n, 2), timeout=60_000)


def _wait_ended(qtbot, window) -> None:
    if window.live.running:
        with qtbot.waitSignal(window.live.ended, timeout=60_000):
            pass


def _finally_ran(seen) -> bool:
    """Whether the script's finally block wrote its notes (read while it may still write)."""
    try:
        return json.loads(seen.read_text())["finally"]
    except (OSError, ValueError):
        return False


def _stop(qtbot, window) -> None:
    with qtbot.waitSignal(window.live.ended, timeout=60_000):
        window.live.stop_act.trigger()


def test_passes_arrive_while_the_script_runs_and_stop_ends_it_cleanly(qtbot, window, tmp_path,
                                                                      capsys):
    seen = tmp_path / "seen.json"
    window.open_source(LOOP, ["1000000", str(seen)])  # runs until stopped
    qtbot.waitUntil(lambda: window.layout_data is not None, timeout=60_000)
    _wait_traced(qtbot, window, 3)
    assert window.live.running and window.live.bar.isVisible()
    assert window.pass_bar.isVisible() and window.pass_box.count() >= 2
    drawn = window.layout_data.model.graph  # a pass of the script, drawn while it runs
    assert drawn.info["script"] == os.path.abspath(LOOP) and drawn.capture.ran
    assert window.live.run.traced > 1
    assert window.live.stop_act.isEnabled()

    _stop(qtbot, window)
    assert not window.live.running and not window.live.stop_act.isEnabled()
    assert window.isVisible() and window.last_error is None  # stopped: no error dialog
    mine = json.loads(seen.read_text())
    assert mine["finally"]  # the script's finally block ran
    assert "Stopped" in window.statusBar().currentMessage()
    # the passes listed are those whose backward ended: the script noted each loss after
    # its backward, unless it was stopped right there
    assert window.passes[-1].capture.ran
    assert window.passes[-1].info["index"] in (len(mine["loss"]), len(mine["loss"]) + 1)

    qtbot.waitUntil(lambda: "step 1 loss" in window.live.console.contents(), timeout=10_000)
    text = window.live.console.contents()
    assert f"step 0 loss {mine['loss'][0]:.4f}\n" in text
    assert "checkpoint at step 0" in text  # stderr too
    assert window.live.console.isVisible()
    assert "step 0 loss" in capsys.readouterr().out  # and still on the terminal


def test_the_view_follows_the_newest_pass_unless_the_user_picked_one(qtbot, window):
    window.open_source(LOOP)  # runs until stopped
    _wait_traced(qtbot, window, 4)
    qtbot.waitUntil(lambda: window.graph is not None, timeout=60_000)
    # following: the newest pass is shown, a newer one replaces it as it comes
    first = window.graph
    qtbot.waitUntil(lambda: window.graph is not first and window.graph.info["index"]
                    > first.info["index"], timeout=60_000)
    assert window.live.following and window.live.follow_act.isChecked()

    oldest_row = window.pass_box.count() - 1
    picked = window.passes[window.pass_box.itemData(oldest_row)]
    window.pass_box.activated.emit(oldest_row)
    assert window.graph is picked and not window.live.following
    assert not window.live.follow_act.isChecked()
    traced = window.live.run.traced
    qtbot.waitUntil(lambda: window.live.run.traced > traced + 5 and
                    window.passes[-1].info["index"] > traced + 5, timeout=60_000)
    assert window.graph is picked  # newer passes came, the picked one stays

    window.live.follow_act.trigger()  # back to following
    assert window.live.following
    newest = window.passes[-1]
    qtbot.waitUntil(lambda: window.graph is not picked and window.graph.info["index"]
                    >= newest.info["index"], timeout=60_000)
    _stop(qtbot, window)
    assert window.isVisible()


def test_the_timeline_plots_what_the_scripts_own_hooks_saw(qtbot, window, tmp_path):
    seen = tmp_path / "seen.json"
    steps, nan_step = 12, 7  # step 7 (pass 8) has a NaN input: its gradients are NaN
    window.open_source(LOOP, [str(steps), str(seen), str(nan_step)])
    _wait_ended(qtbot, window)
    qtbot.waitUntil(lambda: window.layout_data is not None
                    and window.layout_data.model.graph is window.graph, timeout=60_000)
    mine = json.loads(seen.read_text())
    timeline = window.live.timeline
    assert timeline.isVisible()
    series = timeline.series()
    passes = np.arange(1, steps + 1)
    finite = [i for i in range(steps) if math.isfinite(mine["global"][i])]
    assert finite == [i for i in range(steps) if i != nan_step]
    np.testing.assert_array_equal(series["loss"][0], passes[finite])
    np.testing.assert_allclose(series["loss"][1], np.array(mine["loss"])[finite], rtol=1e-6)
    np.testing.assert_array_equal(series["global"][0], passes[finite])
    np.testing.assert_allclose(series["global"][1], np.array(mine["global"])[finite], rtol=1e-6)
    assert len(series["node"][0]) == 0  # nothing selected
    assert timeline.nan_spans() == [(nan_step + 0.5, nan_step + 1.5)]  # pass 8, alone

    window.select_node(window.graph.find("fc1.weight").id)
    series = timeline.series()
    np.testing.assert_array_equal(series["node"][0], passes[finite])
    np.testing.assert_allclose(series["node"][1], np.array(mine["fc1"])[finite], rtol=1e-6)
    assert timeline.node_label == "fc1.weight gradient norm"
    window.screenshot(out("live_timeline.png"))

    timeline.log.setChecked(False)  # linear: the same figures
    np.testing.assert_allclose(timeline.series()["global"][1],
                               np.array(mine["global"])[finite], rtol=1e-6)

    # a click on pass 3 opens it: the user picked it, the view stops following
    plot = timeline.norm_plot
    y = sum(plot.vb.viewRange()[1]) / 2
    where = timeline.plots.mapFromScene(plot.vb.mapViewToScene(QPointF(3, y)))
    with qtbot.waitSignal(window.layout_applied, timeout=30_000):
        qtbot.mouseClick(timeline.plots.viewport(), Qt.LeftButton, pos=where)
    assert window.graph.info["index"] == 3 and not window.live.following
    assert math.isclose(window.graph.find("fc1.weight").grad.norm().item(), mine["fc1"][2],
                        rel_tol=1e-6)


def test_cancel_in_the_progress_strip_ends_the_run_as_stop_does(qtbot, window, tmp_path):
    seen = tmp_path / "seen.json"
    window.open_source(LOOP, ["1000000", str(seen)])
    _wait_traced(qtbot, window, 3)
    with qtbot.waitSignal(window.live.ended, timeout=60_000):
        window.runner.cancel()
    assert not window.live.running and not window.live.stop_act.isEnabled()
    qtbot.waitUntil(lambda: _finally_ran(seen), timeout=60_000)  # stopped, its finally ran
    assert window.isVisible() and window.passes and window.last_error is None


def test_a_pass_whose_backward_still_runs_is_neither_listed_nor_plotted(qtbot, window, tmp_path):
    from gradviz.app.live import TICK_MS

    inside, gate = tmp_path / "inside", tmp_path / "gate"
    script = tmp_path / "slow_third.py"
    script.write_text(
        "import os, time, torch\n"
        "w = torch.ones(3, requires_grad=True)\n"
        "def wait(g):\n"
        f"    open({str(inside)!r}, 'w').close()\n"
        f"    while not os.path.exists({str(gate)!r}):\n"
        "        time.sleep(0.01)\n"
        "for step in range(3):\n"
        "    y = w * (step + 1)\n"
        "    if step == 2:\n"
        "        y.register_hook(wait)  # the third backward waits for the test\n"
        "    y.sum().backward()\n")
    window.open_source(str(script))
    qtbot.waitUntil(inside.exists, timeout=60_000)
    qtbot.wait(3 * TICK_MS)  # ticks while the third backward runs
    assert [g.info["index"] for g in window.passes] == [1, 2]
    assert window.live.timeline.series()["global"][0].tolist() == [1, 2]
    gate.touch()
    _wait_ended(qtbot, window)
    assert [g.info["index"] for g in window.passes] == [1, 2, 3]
    x, norms = window.live.timeline.series()["global"]
    assert x.tolist() == [1, 2, 3]
    np.testing.assert_allclose(norms, [math.sqrt(3) * k for k in (1, 2, 3)], rtol=1e-6)


def test_following_keeps_the_selected_node_and_the_folding(qtbot, window):
    from PySide6.QtCore import QTimer

    window.open_source(LOOP)  # runs until stopped
    _wait_traced(qtbot, window, 2)
    qtbot.waitUntil(lambda: window.layout_data is not None, timeout=60_000)
    graph = window.graph
    fc1 = graph.find("fc1.weight").id
    window.select_node(fc1)
    window.change(collapsed=frozenset({"fc2"}))
    seen = []  # (pass, selection, folding) once each follow's own changes are done

    def note(old, new):
        if old.graph is not new.graph:
            QTimer.singleShot(0, lambda: seen.append((window.graph, window.model.selection,
                                                      window.model.collapsed)))

    window.model_changed.connect(note)
    qtbot.waitUntil(lambda: len(seen) >= 3, timeout=60_000)
    _stop(qtbot, window)
    for shown, selection, collapsed in seen[:3]:
        assert shown is not graph and shown.find("fc1.weight").id == selection
        assert collapsed == frozenset({"fc2"})
    assert window.live.timeline.node_label == "fc1.weight gradient norm"


def test_a_pass_no_longer_kept_whole_says_so_and_stays_in_the_timeline(qtbot, window,
                                                                       monkeypatch):
    from gradviz.app import jobs

    monkeypatch.setattr(jobs, "KEEP_PASSES", 3)
    window.open_source(LOOP, ["8"])
    _wait_ended(qtbot, window)
    qtbot.waitUntil(lambda: window.graph is not None, timeout=60_000)
    assert [g.info["index"] for g in window.passes] == [6, 7, 8]
    assert window.live.timeline.series()["loss"][0].tolist() == list(range(1, 9))
    shown = window.graph
    window.live.timeline.picked.emit(1)
    assert window.graph is shown and window.live.following
    assert window.statusBar().currentMessage() == (
        "pass 1 is no longer kept whole, only the newest 3 (passes 6 to 8); its figures stay "
        "in the timeline")
