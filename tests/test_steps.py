"""The player's model on the seed demo: which node each of next/previous/first/last reaches."""

import pytest

import gradviz
from gradviz.core.steps import Steps, forward_order

from .demos.harness import run_demo


@pytest.fixture
def seed(monkeypatch):
    return run_demo("linear", monkeypatch).passes[0].graph


def test_backward_moves_from_the_loss_to_the_leaves(seed):
    steps = Steps.of(seed, "backward")
    S, Z, W = seed.find("S"), seed.find("Z"), seed.find("W")
    at = steps.first()
    assert steps.order[at] == S.id
    at = steps.next(at)
    assert steps.order[at] == Z.id
    assert steps.order[steps.previous(at)] == S.id
    at = steps.last()
    assert steps.order[at] == W.id  # W is reached last, behind its two transposes
    assert steps.next(at) == at and steps.previous(steps.first()) == steps.first()
    assert seed.cols.op[steps.order[steps.previous(at)]] == "TBackward0"


def test_forward_moves_in_creation_order(seed):
    steps = Steps.of(seed, "forward")
    W, Z, S = (seed.find(v) for v in "WZS")
    (user_t,) = seed.successors()[W.id]  # W.t() in the demo
    (inner_t,) = seed.successors()[user_t]  # the transpose inside F.linear
    assert steps.order == (user_t, inner_t, Z.id, S.id)
    assert steps.order[steps.first()] == user_t
    assert steps.order[steps.next(steps.first())] == inner_t
    assert steps.order[steps.last()] == S.id
    assert steps.order[steps.previous(steps.last())] == Z.id


def test_forward_follows_the_script_line_by_line(monkeypatch):
    graph = run_demo("neuron", monkeypatch).passes[0].graph
    names = [graph.cols.name[nid] for nid in forward_order(graph)]
    assert names == ["x1w1", "x2w2", "x1w1x2w2", "N", "O"]


def test_backward_state_reveals_gradients_as_reached(seed):
    steps = Steps.of(seed, "backward")
    S, Z = seed.find("S"), seed.find("Z")
    state = steps.state(steps.next(steps.first()))
    assert state["current"] == Z.id
    assert state["done"] == {S.id}
    assert state["show_grad"] == {S.id, Z.id}
    assert state["edges"] == {(Z.id, S.id)}  # Z's gradient arrives from S
    assert steps.state(steps.last())["show_grad"] == set(range(len(seed)))


def test_forward_state_has_inputs_done_and_no_gradients(seed):
    steps = Steps.of(seed, "forward")
    Z = seed.find("Z")
    state = steps.state(steps.step_of(Z.id))
    leaves = {seed.find(v).id for v in ("X", "W", "B")}
    assert leaves <= state["done"] and Z.id not in state["done"]
    assert state["show_grad"] == set()
    assert state["edges"] == {(src, Z.id) for src in seed.predecessors()[Z.id]}


def test_out_of_range_and_unknown_mode(seed):
    with pytest.raises(IndexError):
        Steps.of(seed, "forward").state(99)
    with pytest.raises(ValueError, match="forward, backward"):
        Steps.of(seed, "sideways")


def test_no_backward_yet_says_so():
    import torch

    x = torch.ones(2, requires_grad=True)
    graph = gradviz.trace((x * 2).sum())
    with pytest.raises(ValueError, match="run backward"):
        Steps.of(graph, "backward")


@pytest.mark.parametrize("name", ["linear", "neuron"])
def test_loaded_session_keeps_the_forward_order(name, monkeypatch, tmp_path):
    graph = run_demo(name, monkeypatch).passes[0].graph
    loaded = gradviz.load(gradviz.save(graph, tmp_path / "demo.gradviz"))
    assert all(fn is None for fn in loaded.cols.fn)
    assert forward_order(loaded) == forward_order(graph)
