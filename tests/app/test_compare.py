"""Two passes compared in the window: ``gradviz.show(run)``, the compare dock's diff and its
lists, the measure switch, and several rank files opened side by side."""

import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtWidgets import QLabel

import gradviz
from gradviz.cli import main
from gradviz.core.diff import compare
from gradviz.core.viewmodel import Colouring
from gradviz.layout import diffstyle
from tests.app.conftest import out
from tests.core.test_diff import branching_run

SCRIPT = str(Path(__file__).parent.parent / "scripts" / "branching_loop.py")


def _drawn(qtbot, window, colouring=None):
    qtbot.waitUntil(lambda: window.layout_data is not None and not window.runner.busy
                    and (colouring is None or window.layout_data.model.colouring is colouring),
                    timeout=30_000)


def test_show_run_opens_its_passes_compares_them_and_shows_history(qtbot):
    run, (a, b) = branching_run()
    window = gradviz.show(run, block=False)
    qtbot.addWidget(window)
    _drawn(qtbot, window)
    assert window.passes == run.passes and window.graph is run.passes[-1]
    assert [window.pass_box.itemText(i) for i in range(2)] == ["pass 2 of 2 (newest)",
                                                               "pass 1 of 2"]
    dock = window.compare
    assert dock.isVisible()
    hidden = window.graph.find("AddmmBackward0").id
    window.change(selection=hidden)
    assert dock.history.rowCount() == 2
    assert float(dock.history.item(1, 1).text()) == pytest.approx(b["h"], rel=1e-3)

    dock.compare()  # A: pass 1, B: pass 2
    _drawn(qtbot, window, Colouring.DIFF)
    d = dock.diff
    fills = {k: item.box.fill for k, item in window.view.nodes.items()}
    assert {fills[u] for u in d.only_a} == {diffstyle.ONLY_A}
    assert {fills[u] for u in d.only_b} == {diffstyle.ONLY_B}
    addmm = d.graph.find("AddmmBackward0").id
    assert d.ratio(addmm) == pytest.approx(math.log10(b["h"] / a["h"]), rel=1e-5)
    first = dock.biggest.item(0).data(0x0100)  # Qt.UserRole
    assert first == d.biggest(1)[0]
    assert dock.only.count() == 3
    window.change(selection=addmm)  # the history follows the node into the diff
    assert float(dock.history.item(0, 1).text()) == pytest.approx(a["h"], rel=1e-3)
    assert "gradient norm, pass 2 / pass 1" in " ".join(
        w.text() for w in window.view.legend.findChildren(QLabel))
    window.screenshot(out("compare_passes.png"))

    dock.measures.buttons()[1].setChecked(True)  # value norms
    qtbot.waitUntil(lambda: window.layout_data.model.diff_measure == "value", timeout=30_000)
    weight = d.graph.find("weight").id
    assert window.view.nodes[weight].box.fill != fills[weight]  # its value barely moved
    window.pass_box.activated.emit(1)  # one pass again: no diff colouring left
    _drawn(qtbot, window, Colouring.NONE)
    assert window.graph is run.passes[0]


def _rank_file(tmp_path, rank: int, monkeypatch) -> Path:
    monkeypatch.setenv("RANK", str(rank))
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert main(["export", SCRIPT, "-o", str(tmp_path / "run.gradviz"), "--ranks", "all",
                 "--quiet"]) == 0
    return tmp_path / f"run.rank{rank}.gradviz"


def test_several_rank_files_open_side_by_side_and_compare(qtbot, window, tmp_path,
                                                         monkeypatch):
    from gradviz.app.compare import open_files

    files = [_rank_file(tmp_path, r, monkeypatch) for r in (0, 1)]
    open_files(window, [str(f) for f in files])
    _drawn(qtbot, window)
    assert len(window.passes) == 4
    labels = [window.pass_box.itemText(i) for i in range(4)]
    assert "run.rank1 pass 2 of 2 (newest)" in labels and "run.rank0 pass 1 of 2" in labels
    dock = window.compare
    assert (dock.box_a.currentText(), dock.box_b.currentText()) == ("run.rank0 pass 2",
                                                                    "run.rank1 pass 2")
    dock.compare()
    _drawn(qtbot, window, Colouring.DIFF)
    r0, r1 = (gradviz.load(f) for f in files)
    expected = compare(r0.passes[-1], r1.passes[-1])
    key = r0.keys_of(r0.passes[-1])[r0.passes[-1].find("hidden").id]
    h0, h1 = (r.history(key).grad_norm[-1] for r in (r0, r1))
    u = dock.diff.graph.find("hidden").id
    assert dock.diff.ratio(u) == pytest.approx(math.log10(h1 / h0), rel=1e-5)
    assert dock.diff.ratio(u) == pytest.approx(expected.ratio(expected.graph.find("hidden").id))
    window.screenshot(out("compare_ranks.png"))


def test_gradviz_open_takes_several_files(tmp_path, monkeypatch):
    files = [str(_rank_file(tmp_path, r, monkeypatch)) for r in (0, 1)]
    shot = tmp_path / "open.png"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    env.pop("RANK"), env.pop("WORLD_SIZE")
    done = subprocess.run([sys.executable, "-m", "gradviz.cli", "open", *files, "--screenshot",
                           str(shot)], capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    done = subprocess.run([sys.executable, "-m", "gradviz.cli", "open", files[0],
                           str(tmp_path / "nothing.gradviz")], capture_output=True, text=True,
                          timeout=120, env=env)
    assert done.returncode == 2 and "no such file" in done.stderr
