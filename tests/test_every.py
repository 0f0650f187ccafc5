"""``--every K`` / ``--first N``: which backward passes are traced, and that the others run
with nothing of gradviz's switched on."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import gradviz
from gradviz.core.passes import RunError
from gradviz.core.runner import run_script

SCRIPTS = Path(__file__).parent / "scripts"


@pytest.mark.parametrize("every, first, traced", [
    (1, None, [1, 2, 3, 4, 5, 6, 7]),
    (3, None, [1, 4, 7]),
    (2, 2, [1, 3]),
    (1, 3, [1, 2, 3]),
])
def test_every_and_first_trace_exactly_those_passes(tmp_path, every, first, traced):
    out = tmp_path / "seen.json"
    result = run_script(SCRIPTS / "step_probe.py", ["7", str(out)], every=every, first=first)
    assert result.calls == 7
    assert [g.info["index"] for g in result.passes] == traced
    assert all(g.has_grads and g.recorded for g in result.passes)
    seen = json.loads(out.read_text())
    # the forward of a traced step ran under record() (a mode, module hooks); the others bare
    assert [s["modes"] > 0 for s in seen] == [i + 1 in traced for i in range(7)]
    assert [s["module_hooks"] > 0 for s in seen] == [i + 1 in traced for i in range(7)]


def test_first_zero_runs_the_script_untouched(tmp_path):
    out = tmp_path / "seen.json"
    result = run_script(SCRIPTS / "step_probe.py", ["2", str(out)], first=0)
    assert result.passes == [] and result.calls == 0
    assert json.loads(out.read_text()) == [{"modes": 0, "module_hooks": 0}] * 2


def test_the_run_object_traces_every_kth_step_from_python():
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 1)
    x = torch.randn(4, 3)
    run = gradviz.Run(every=2, first=2)
    graphs = []
    for _ in range(6):
        loss = model(x).pow(2).sum()
        graphs.append(run.trace(loss))
        loss.backward()
    assert [g is not None for g in graphs] == [True, False, True, False, False, False]
    assert [g.info["index"] for g in run.passes] == [1, 3]
    assert run.passes[0].find("weight").grad is not None


@pytest.mark.parametrize("options, message", [
    ({"every": 0}, "every takes a whole number of at least 1, not 0"),
    ({"first": -1}, "first takes a whole number of at least 0, not -1"),
    ({"keep": "3"}, "keep takes a whole number of at least 1, not '3'"),
])
def test_bad_run_options_say_which(options, message):
    with pytest.raises(RunError, match=message):
        gradviz.Run(**options)


def test_the_command_line_takes_every_and_first(tmp_path):
    out = tmp_path / "g.json"
    done = subprocess.run([sys.executable, "-m", "gradviz", "export", str(SCRIPTS / "training_loop.py"),
                           "-o", str(out), "--every", "2", "--first", "2", "--pass", "3", "--quiet",
                           "--", "6"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert json.loads(out.read_text())["nodes"]
    bad = subprocess.run([sys.executable, "-m", "gradviz", "export", str(SCRIPTS / "training_loop.py"),
                          "-o", str(out), "--every", "2", "--first", "2", "--pass", "5", "--", "6"],
                         capture_output=True, text=True, timeout=300)
    assert bad.returncode == 1
    assert "there is no pass 5: the script made 6 backward passes, of which 1, 3 are kept" \
        in bad.stderr
