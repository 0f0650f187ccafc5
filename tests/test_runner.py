"""The script runner: scripts run unchanged, every backward is traced, nothing stays patched."""

import sys
import threading
from pathlib import Path

import pytest
import torch

from gradviz.core.runner import NoBackwardError, ScriptError, Stopped, run_script

SCRIPTS = Path(__file__).parent / "scripts"


def test_the_script_runs_as_python_would_run_it():
    result = run_script(SCRIPTS / "argv_main.py", ["2"])
    (graph,) = result.passes
    assert graph.find("hidden").grad.tolist() == [1.0, 1.0]  # an intermediate gradient
    assert graph.find("x").grad.tolist() == [6.0, 6.0]  # 2 (argv) * 3 (the sibling module)
    assert graph.info["index"] == 1 and graph.info["script"].endswith("argv_main.py")


def test_every_patch_is_undone_even_when_the_script_raises():
    before = (torch.Tensor.backward, torch.autograd.backward, torch.autograd.grad)
    hooks = dict(torch.nn.modules.module._global_forward_pre_hooks)
    argv, path = list(sys.argv), list(sys.path)
    with pytest.raises(ScriptError):
        run_script(SCRIPTS / "raises.py")
    assert (torch.Tensor.backward, torch.autograd.backward, torch.autograd.grad) == before
    assert sys.argv == argv and sys.path == path
    assert dict(torch.nn.modules.module._global_forward_pre_hooks) == hooks
    assert not torch.overrides._get_current_function_mode_stack()  # record() ended too


def test_a_failing_script_reports_its_own_traceback_only():
    with pytest.raises(ScriptError) as caught:
        run_script(SCRIPTS / "raises.py")
    err = caught.value
    assert "raises.py raised RuntimeError" in str(err)
    assert 'raises.py", line 12, in <module>' in err.traceback
    assert "in broken" in err.traceback
    assert "runpy" not in err.traceback and "gradviz" not in err.traceback


def test_a_script_without_backward_says_what_gradviz_needs():
    with pytest.raises(NoBackwardError, match=r"loss.backward\(\).*gradviz.trace"):
        run_script(SCRIPTS / "no_backward.py")


def test_a_training_loop_keeps_the_newest_passes_up_to_the_cap():
    result = run_script(SCRIPTS / "training_loop.py", ["5"], keep=3)
    assert result.calls == 5
    assert [g.info["index"] for g in result.passes] == [3, 4, 5]
    newest = result.passes[-1]
    assert newest.find("weight").grad is not None and newest.find("prediction").grad is not None


def test_backward_and_autograd_grad_are_each_traced_once():
    result = run_script(SCRIPTS / "two_losses.py")
    first, second = result.passes
    assert [n.name for n in first.outputs] == ["first"]
    assert [n.name for n in second.outputs] == ["second"]
    assert second.find("cubes").grad.tolist() == [1.0, 1.0]
    assert second.find("squares").grad.tolist() == [1.0, 2.0]  # d(sum(s * a))/ds = a


def test_should_stop_cancels_a_run_from_another_thread():
    stop = threading.Event()
    seen = []

    def progress(stage, fraction):
        seen.append(stage)
        stop.set()  # ask to stop once the first pass is traced

    with pytest.raises(Stopped):
        run_script(SCRIPTS / "training_loop.py", ["50"], progress=progress,
                   should_stop=stop.is_set)
    assert seen == ["traced backward pass 1"]
    assert torch.Tensor.backward.__module__ == "torch._tensor"
