"""Failure 4, NaN or Inf: the op that made it in forward, the node where backward made one."""

import warnings
from pathlib import Path

import pytest
import torch

import gradviz
from gradviz.core.diagnosis import Severity, diagnose
from gradviz.core.diagnoses.nonfinite import nonfinite_nodes
from gradviz.core.runner import run_script
from tests.oracles import NonFinite

SCRIPTS = Path(__file__).parent.parent / "scripts"


def _nonfinite(findings):
    return [f for f in findings if f.kind == "nonfinite"]


def test_a_script_that_takes_log_of_zero_is_told_the_op_and_line_forward_and_backward():
    script = SCRIPTS / "nan_loss.py"
    with NonFinite(script) as oracle:
        (graph,) = run_script(script).passes
    (finding,) = _nonfinite(diagnose(graph))
    made, line = oracle.made
    assert made.name() == "LogBackward0" and line.startswith("nan_loss.py:")
    forward, backward = finding.nodes
    assert forward == graph.index[made]
    assert backward == graph.index[oracle.first_bad_grad]
    assert finding.severity is Severity.WARNING  # the script ran through
    assert line in finding.title and line in finding.where
    assert graph.cols.source[backward] in finding.where
    assert "clamp_min" in finding.suggestion and "log_softmax" in finding.suggestion
    text = "\n".join(finding.lines())
    assert "picked in [0, 1]" in text  # log of 0: the input's range says so


def test_plain_trace_names_the_backward_node_and_says_record_would_name_the_op():
    x = torch.tensor([4.0, 1.0, 2.0], requires_grad=True)
    with NonFinite() as oracle:
        root = (x - 1.0).sqrt()  # finite forward; its derivative at 0 is inf
        loss = (root * 2).sum()
    g = gradviz.trace(loss)
    loss.backward()
    (finding,) = _nonfinite(diagnose(g))
    assert oracle.made is None
    assert finding.nodes == (g.index[oracle.first_bad_grad],)
    assert "gradviz.record()" in "\n".join(finding.details)
    assert finding.suggestion.startswith("torch.sqrt(x + 1e-12)")


def test_every_nonfinite_node_is_listed_origins_first():
    script = SCRIPTS / "nan_loss.py"
    with NonFinite(script) as oracle:
        (graph,) = run_script(script).passes
    listed = nonfinite_nodes(graph)
    assert listed[:2] == [graph.index[oracle.made[0]], graph.index[oracle.first_bad_grad]]
    bad = {graph.index[fn] for fn, ok in oracle.reached if not ok}
    assert bad <= set(listed) and len(set(listed)) == len(listed)


def test_a_finite_run_has_no_nonfinite_finding():
    (graph,) = run_script(SCRIPTS / "net1linear.py").passes
    assert not _nonfinite(diagnose(graph)) and nonfinite_nodes(graph) == []


def test_anomaly_detection_stopping_backward_is_explained_on_the_node_it_names():
    x = torch.tensor([0.0, 1.0], requires_grad=True)
    with gradviz.record():
        root = x.sqrt()
        loss = (root * torch.tensor([0.0, 1.0])).sum()  # sqrt's backward at 0: 0 / 0
    g = gradviz.trace(loss)
    with pytest.raises(RuntimeError, match="returned nan values") as raised:
        with torch.autograd.detect_anomaly(), warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            loss.backward()
    (finding,) = _nonfinite(diagnose(g, raised.value))
    assert finding.severity is Severity.ERROR
    assert finding.nodes == (g.node_for(root).id,)
    assert "sqrt's backward" in finding.title and "returned NaN" in finding.title
    assert not _nonfinite(diagnose(g, RuntimeError("shapes cannot be multiplied")))


def test_a_mask_of_minus_inf_that_softmax_turns_into_zero_is_no_finding():
    (graph,) = run_script(SCRIPTS / "masked_attention.py").passes
    masked = graph.find("MaskedFillBackward0")
    assert not masked.value.isfinite().all()  # the -inf is there, on purpose
    assert not _nonfinite(diagnose(graph))
    assert nonfinite_nodes(graph) == [masked.id]  # Ctrl+N still finds it


def test_a_nan_that_came_in_with_the_data_is_not_blamed_on_the_op():
    x = torch.tensor([float("nan"), 1.0], requires_grad=True)
    with NonFinite() as oracle, gradviz.record():
        y = x * 2
        loss = y.sum()
    g = gradviz.trace(loss)
    loss.backward()
    (finding,) = _nonfinite(diagnose(g))
    assert oracle.made is None  # no op made it from finite inputs
    assert finding.nodes[0] == g.node_for(y).id
    assert "from an input that already held one" in finding.title
    assert "x already held 1 NaN" in finding.details[0]
