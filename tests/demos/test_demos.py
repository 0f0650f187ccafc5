"""Each demo's gradients against torch itself, the backward order against hooks of our own."""

import math
import re
import runpy
import traceback

import pytest
import torch
from torch.testing import assert_close

from gradviz.app.launch import launch
from gradviz.cli import build_parser
from gradviz.core.diagnosis import diagnose
from gradviz.core.runner import ScriptError
from gradviz.core.steps import Steps
from gradviz.demos import FAILURES, ORDER, catalog, find
from gradviz.sources import open_source

from .harness import run_demo

#: The demos whose backward raises on purpose: no gradient to check, a diagnosis instead.
RAISES = ["inplace_error", "second_backward"]
COMPLETES = [name for name in ORDER if name not in RAISES]
#: Per failure demo, the code of each line its finding must name (line numbers are read from
#: the demo's text), for the finding whose ``where`` is not empty.
NAMED = {"inplace_error": ["torch.sigmoid(", "y.mul_(2)  #"],
         "second_backward": ["h = cell(x, h)", "loss.backward()"],
         "cut_chain": ["self.encoder(x).detach()"],
         "nan_origin": ["torch.log(picked)", "picked = probs["],
         "vanishing": ["return self.sigmoid(x)"]}


@pytest.fixture(scope="module")
def runs():
    with pytest.MonkeyPatch.context() as mp:
        return {name: run_demo(name, mp) for name in COMPLETES}


def _check(snap, want) -> bool:
    """A captured gradient against torch's: in full under the size cap, else by its norm.

    Returns whether there was a gradient to compare."""
    if want is None:  # an output nothing downstream used
        assert snap is None or snap.stats["norm"] == 0
        return False
    if snap.data is not None:
        assert_close(snap.data, want, equal_nan=True)  # nan_origin's NaN gradients are right
    else:
        assert snap.stats["norm"] == pytest.approx(want.double().norm().item(), rel=1e-5,
                                                   nan_ok=True)
    return True


@pytest.mark.parametrize("name", COMPLETES)
def test_every_captured_gradient_matches_torch(name, runs):
    (p,) = runs[name].passes
    graph, checked = p.graph, 0
    assert graph.has_grads
    for fn, wants in p.node_grads.items():
        node = graph.nodes[graph.index[fn]]
        snaps = node.grad_snapshots
        assert len(snaps) == len(wants), node
        checked += sum(_check(snap, want) for snap, want in zip(snaps, wants))
    assert checked >= len(graph) - 1
    for var, want in p.expected.items():
        t = p.tensors[var]
        assert _check(graph.node_for(t).grad_snapshots[t.output_nr if t.grad_fn else 0], want), var


@pytest.mark.parametrize("name", COMPLETES)
def test_backward_steps_follow_the_order_hooks_fired(name, runs):
    (p,) = runs[name].passes
    fired = [p.graph.index[fn] for fn in p.fired]
    assert len(fired) == len(p.graph)
    assert p.graph.capture.order == fired
    assert list(Steps.of(p.graph, "backward").order) == fired


def test_linear_keeps_the_seed_numbers(runs):
    graph = runs["linear"].passes[0].graph
    assert_close(graph.find("Z").value, torch.tensor([[2.15, 2.91], [1.60, 1.26]]))
    assert_close(graph.find("Z").grad, torch.ones(2, 2))
    assert_close(graph.find("X").grad, torch.tensor([[3.6, -0.9, 1.3], [3.6, -0.9, 1.3]]))


def test_neuron_checks_out_by_hand(runs):
    graph = runs["neuron"].passes[0].graph
    x1, x2, w1, w2, b = (graph.find(v).value.item() for v in ("x1", "x2", "w1", "w2", "b"))

    def neuron(x1=x1, x2=x2, w1=w1, w2=w2, b=b):
        return math.tanh(x1 * w1 + x2 * w2 + b)

    h = 1e-6
    for var, want in {"x1": -1.5, "x2": 0.5, "w1": 1.0, "w2": 0.0, "b": 0.5}.items():
        value = locals()[var]
        numeric = (neuron(**{var: value + h}) - neuron(**{var: value - h})) / (2 * h)
        assert graph.find(var).grad.item() == pytest.approx(want, abs=1e-5)
        assert numeric == pytest.approx(want, abs=1e-5)
    assert graph.find("N").grad.item() == pytest.approx(1 - neuron() ** 2, abs=1e-6)


def test_accumulate_adds_both_uses(runs):
    graph = runs["accumulate"].passes[0].graph
    A = graph.find("A")
    assert len(graph.successors()[A.id]) == 2
    assert_close(A.grad, graph.find("B").value + 1)


def test_rnn_weights_collect_a_gradient_from_every_step(runs):
    graph = runs["rnn"].passes[0].graph
    Wh = graph.find("Wh")
    assert len(graph.successors()[Wh.id]) == 4


def test_mlp_parameters_are_named_by_module(runs):
    graph = runs["mlp"].passes[0].graph
    names = {n.name for n in graph if n.kind == "leaf"}
    assert names == {"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"}


def test_custom_function_is_one_node(runs):
    graph = runs["custom_function"].passes[0].graph
    assert [n.op for n in graph if "RoundSTE" in n.op] == ["RoundSTEBackward"]


def test_inplace_on_a_view_shows_copyslices(runs):
    graph = runs["inplace_and_views"].passes[0].graph
    assert graph.find("x").op == "CopySlices"
    namespace = runs["inplace_and_views"].namespace
    assert namespace["version_after"] == namespace["version_before"] + 1


@pytest.mark.filterwarnings("ignore:The .grad attribute of a Tensor that is not a leaf")
@pytest.mark.parametrize("name", COMPLETES)
def test_runs_as_a_plain_script(name, capsys):
    runpy.run_path(str(find(name).path), run_name="__main__")
    assert capsys.readouterr().out.strip()


def line_of(name: str, code: str) -> str:
    """``name.py:N`` of the one line of the demo holding ``code``."""
    lines = find(name).path.read_text().splitlines()
    found = [i + 1 for i, line in enumerate(lines) if code in line]
    assert len(found) == 1, (name, code, found)
    return f"{name}.py:{found[0]}"


@pytest.mark.parametrize("name", RAISES)
def test_raises_in_its_own_backward_as_a_plain_script(name):
    with pytest.raises(RuntimeError) as caught:
        runpy.run_path(str(find(name).path), run_name="__main__")
    path = str(find(name).path)
    (frame,) = [f for f in traceback.extract_tb(caught.value.__traceback__)
                if f.filename == path]
    assert f"{name}.py:{frame.lineno}" == line_of(name, "loss.backward()")


@pytest.mark.filterwarnings("ignore:The .grad attribute of a Tensor that is not a leaf")
@pytest.mark.parametrize("name", list(FAILURES))
def test_gradviz_diagnoses_the_failure_at_the_demos_own_lines(name, capsys):
    try:
        result = open_source(name)
    except ScriptError as err:
        assert name in RAISES and err.graph is not None  # the pass that raised, to show
        findings = err.findings
    else:
        assert name not in RAISES
        findings = diagnose(result.passes[-1])
    assert find(name).failure == FAILURES[name]
    mine = [f for f in findings if f.kind == FAILURES[name]]
    assert mine, [f.kind for f in findings]
    located = [f for f in mine if f.where]
    assert located and set(located[0].where) == {line_of(name, c) for c in NAMED[name]}


@pytest.mark.parametrize("name", COMPLETES)
def test_is_deterministic(name, runs, monkeypatch):
    first, again = runs[name].passes[0], run_demo(name, monkeypatch).passes[0]
    for var, want in first.expected.items():
        assert_close(again.expected[var], want, rtol=0, atol=0, equal_nan=True, msg=var)


def test_catalog_states_each_teaching_point():
    demos = catalog()
    assert [d.name for d in demos] == ORDER and len(ORDER) >= 10
    for demo in demos:
        assert demo.summary and "\n" not in demo.summary
        sentences = re.findall(r"[^.!?]+[.!?](?:\s|$)", demo.teaching_point)
        assert 2 <= len(sentences) <= 3, (demo.name, sentences)


@pytest.mark.filterwarnings("ignore:The .grad attribute of a Tensor that is not a leaf")
@pytest.mark.parametrize("name", COMPLETES)
def test_gradviz_runner_captures_the_same_pass(name, runs, capsys):
    (graph,) = open_source(name).passes
    (mine,) = runs[name].passes
    assert graph.cols.op == mine.graph.cols.op  # the same walk, so the same ids
    assert graph.capture.order == mine.graph.capture.order
    for node, twin in zip(graph, mine.graph):
        for a, b in zip(node.grad_snapshots, twin.grad_snapshots, strict=True):
            assert (a is None) == (b is None), node
            if a is not None:  # exactly the same, NaN included
                assert_close(a.stats, b.stats, rtol=0, atol=0, equal_nan=True, msg=str(node))


def test_demo_list_prints_one_line_each(capsys):
    assert launch(build_parser().parse_args(["demo", "--list"])) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == ORDER
    for line, demo in zip(lines, catalog()):
        assert line.endswith(demo.summary)


def test_the_inplace_fix_quotes_the_demos_line_without_its_comment():
    with pytest.raises(ScriptError) as caught:
        open_source("inplace_error")
    (finding,) = caught.value.findings
    assert finding.suggestion.startswith(
        f"`y = y.mul(2)` instead of `y.mul_(2)` at {line_of('inplace_error', 'y.mul_(2)  #')}")
