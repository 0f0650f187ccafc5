"""Failure 5, vanishing and exploding gradients: the verdict against norms taken by own hooks."""

from pathlib import Path

import pytest
import torch

import gradviz

from gradviz.core.diagnosis import Severity, diagnose
from gradviz.core.diagnoses.scale import chains, layers, summary_line
from gradviz.core.runner import run_script
from gradviz.demos import find
from tests.oracles import output_grad_norms

SCRIPTS = Path(__file__).parent.parent / "scripts"


@pytest.mark.parametrize("script, word, steepest", [("sigmoid_deep.py", "vanish", min),
                                                    ("bad_init.py", "explode", max)])
def test_the_verdict_matches_the_norms_full_backward_hooks_see(script, word, steepest):
    expected = output_grad_norms(SCRIPTS / script)
    (graph,) = run_script(SCRIPTS / script).passes
    found = layers(graph)
    assert [layer.path for layer in found] == [path for path, _ in expected]
    for layer, (_, norm) in zip(found, expected):
        assert layer.norm == pytest.approx(norm, rel=1e-4)
    ratio = expected[0][1] / expected[-1][1]
    assert (ratio < 1e-2) if word == "vanish" else (ratio > 1e2)
    steps = [(expected[k + 1][0], expected[k][1] / expected[k + 1][1])
             for k in range(len(expected) - 1)]
    where = steepest(steps, key=lambda s: s[1])[0]
    (finding,) = [f for f in diagnose(graph) if f.kind == "gradient_scale"]
    assert finding.severity is Severity.INFO
    assert finding.title.startswith(f"Gradients {word}") and f"{ratio:.2g}x" in finding.title
    assert f"most in {where} (" in finding.title
    assert {graph.cols.module[n] for n in finding.nodes} == {where}
    assert summary_line(graph) == finding.title


def test_no_verdict_from_gradients_that_hold_nan_or_inf():
    (graph,) = run_script(SCRIPTS / "nan_loss.py").passes
    assert layers(graph) == [] and summary_line(graph) is None


def test_a_plain_trace_says_record_would_give_the_verdict():
    model = torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.Sigmoid(), torch.nn.Linear(3, 1))
    loss = model(torch.ones(2, 3)).sum()
    graph = gradviz.trace(loss)
    assert summary_line(graph) is None  # backward not run yet
    loss.backward()
    assert layers(graph) == [] and "gradviz.record()" in summary_line(graph)


def test_a_shallow_healthy_model_gets_no_finding():
    (graph,) = run_script(SCRIPTS / "net1linear.py").passes
    assert summary_line(graph) is None  # one layer: nothing to compare
    assert not [f for f in diagnose(graph) if f.kind == "gradient_scale"]


def test_two_stacks_summed_into_one_loss_are_judged_apart():
    """The vanishing demo: a sigmoid stack and a residual stack side by side. Comparing the
    first stack's input layer with the second's output layer would mean nothing."""
    (graph,) = run_script(find("vanishing").path).passes
    stacks = chains(graph, layers(graph))
    assert sorted({layer.path.split(".")[0] for layer in c} for c in stacks) == [
        {"residual"}, {"sigmoid"}]
    assert all(len(c) > 1 for c in stacks)
    line = summary_line(graph)
    assert line.startswith("Gradients vanish: sigmoid.") and "x sigmoid." in line
