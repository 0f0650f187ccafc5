"""``--budget`` on the command line: whole gradients in the export within it, summaries past it."""

import json
import subprocess
import sys

import pytest
import torch

from gradviz.cli import build_parser, main

SCRIPT = """\
import torch
torch.manual_seed(0)
w = torch.randn(16, 16, requires_grad=True)
hidden = torch.tanh(torch.ones(8, 16) @ w)
loss = (hidden @ w).exp().mean()  # exp's output (8 x 16) is held by no variable
loss.backward()
"""


def expected_exp_grad() -> torch.Tensor:
    """What the script's unnamed exp output gets, computed by torch alone."""
    torch.manual_seed(0)
    w = torch.randn(16, 16, requires_grad=True)
    e = (torch.tanh(torch.ones(8, 16) @ w) @ w).exp()
    return torch.autograd.grad(e.mean(), e)[0]


def exported_exp(tmp_path, *budget) -> dict:
    script, out = tmp_path / "net.py", tmp_path / "g.json"
    script.write_text(SCRIPT)
    assert main(["export", str(script), "-o", str(out), "--quiet", *budget]) == 0
    return next(n for n in json.loads(out.read_text())["nodes"] if n["op"] == "ExpBackward0")


def test_export_keeps_an_unnamed_gradient_whole_within_the_budget(tmp_path):
    exp = exported_exp(tmp_path)
    assert torch.equal(torch.tensor(exp["grad"]["data"]), expected_exp_grad())


def test_export_with_a_small_budget_writes_the_summary(tmp_path):
    exp = exported_exp(tmp_path, "--budget", "100B")
    assert exp["grad"]["data"] is None and exp["grad"]["shape"] == [8, 16]
    assert exp["grad"]["stats"]["norm"] == pytest.approx(expected_exp_grad().norm().item())


def test_a_bad_budget_is_one_line_and_exit_status_2(tmp_path):
    done = subprocess.run([sys.executable, "-m", "gradviz.cli", "export", "linear", "-o",
                           str(tmp_path / "g.svg"), "--budget", "lots"],
                          capture_output=True, text=True)
    assert done.returncode == 2 and "budget must be a number of bytes" in done.stderr
    assert "Traceback" not in done.stderr


def test_run_takes_a_budget():
    assert build_parser().parse_args(["run", "--budget", "1KiB", "train.py"]).budget == 1024
    assert build_parser().parse_args(["run", "train.py"]).budget == 256 * 2**20
