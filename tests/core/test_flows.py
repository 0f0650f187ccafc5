"""The gradient along each edge, checked against hooks of our own and torch.autograd.grad."""

import functools
import json
import sys

import pytest
import torch
from torch import nn
from torch.autograd.graph import GradientEdge
from torch.testing import assert_close

import gradviz
from gradviz.core import flows as flows_mod
from gradviz.core.flows import FlowError, FlowsNotCapturedError, spell_sum
from gradviz.core.jsonify import to_json
from gradviz.core.session import SessionError

from ..demos.harness import run_demo


def _all_fns(roots) -> list:
    seen, stack = list(roots), list(roots)
    while stack:
        for nxt, _ in stack.pop().next_functions:
            if nxt is not None and nxt not in seen:
                seen.append(nxt)
                stack.append(nxt)
    return seen


def own_flows(output: torch.Tensor):
    """Arm post-hooks of our own on every Node: ``{(consumer Node, input position): grad}``."""
    sent, handles = {}, []
    for fn in _all_fns([output.grad_fn]):
        if hasattr(fn, "variable"):
            continue

        def hook(grad_inputs, grad_outputs, fn=fn):
            for i, g in enumerate(grad_inputs):
                sent[fn, i] = None if g is None else g.detach().clone()
        handles.append(fn.register_hook(hook))
    return sent, handles


def check_every_edge(g: gradviz.GradGraph, sent: dict) -> int:
    """Each edge's flow equals what our own hook saw; returns how many edges were checked."""
    fns = g.cols.fn
    position = {}
    for e, (src, dst, nr) in enumerate(g.edges):
        i = position.get(dst, -1) + 1
        while fns[dst].next_functions[i][0] is None:
            i += 1
        position[dst] = i
        got = flows_mod.flow_snapshot(g, e)
        want = sent[fns[dst], i]
        assert (got is None) == (want is None), (e, got, want)
        if want is not None:
            assert torch.equal(got.data, want), (g.edges[e], got.data, want)
    return len(g.edges)


def check_sums(g: gradviz.GradGraph, output: torch.Tensor, reference: dict) -> int:
    """Flows into each output of each node with two or more consumers sum to its gradient:
    exactly, in the order autograd summed them; and close to torch.autograd.grad's."""
    checked = 0
    for node in g:
        for nr in range(node.outputs):
            terms = [grad for _, grad in g.flows_into(node, nr) if grad is not None]
            if len(g.flows_into(node, nr)) < 2:
                continue
            total = functools.reduce(torch.add, terms)
            assert torch.equal(total, node.grads[nr]), node
            assert_close(total, reference[node.id][nr])
            checked += 1
    return checked


def autograd_reference(output, g):
    """Each node's gradient per output, from torch.autograd.grad alone."""
    fns = g.cols.fn
    edges, keys = [], []
    for nid, fn in enumerate(fns):
        outs = 1 if hasattr(fn, "variable") else len(fn._input_metadata)
        for nr in range(outs):
            edges.append(GradientEdge(fn, nr))
            keys.append((nid, nr))
    grads = torch.autograd.grad(output, edges, retain_graph=True, allow_unused=True)
    ref: dict = {}
    for (nid, nr), grad in zip(keys, grads):
        ref.setdefault(nid, {})[nr] = grad
    return ref


def traced(output, **options):
    ref = None
    sent, handles = own_flows(output)
    g = gradviz.trace(output, **options)
    ref = autograd_reference(output, g)
    output.backward()
    for h in handles:
        h.remove()
    return g, sent, ref


# -- the demo the issue names ---------------------------------------------------------------
def test_accumulate_demo_flows_are_the_two_shares(monkeypatch):
    graph = run_demo("accumulate", monkeypatch).passes[0].graph
    into_a = {consumer.name: grad for consumer, grad in graph.flows_into("A")}
    assert set(into_a) == {"C", "D"}
    assert torch.equal(into_a["C"], torch.tensor([4.0, 5.0, 6.0]))
    assert torch.equal(into_a["D"], torch.tensor([1.0, 1.0, 1.0]))
    assert torch.equal(graph.flow("A", "C"), torch.tensor([4.0, 5.0, 6.0]))
    text = spell_sum(graph, graph.find("A"))
    assert text.startswith("A.grad = ")
    assert "[4, 5, 6] via C" in text and "[1, 1, 1] via D" in text and "(= [5, 6, 7])" in text


# -- real models -----------------------------------------------------------------------------
def test_flows_sum_to_every_gradient_in_a_library_transformer():
    torch.manual_seed(0)
    layer = nn.TransformerEncoderLayer(d_model=16, nhead=2, dim_feedforward=32, dropout=0.0,
                                       batch_first=True)
    model = nn.TransformerEncoder(layer, num_layers=2, enable_nested_tensor=False)
    x = torch.randn(2, 5, 16, requires_grad=True)
    loss = (model(x) ** 2).mean()
    g, sent, ref = traced(loss)
    assert check_every_edge(g, sent) == len(g.edges)
    assert check_sums(g, loss, ref) >= 4


class ResidualCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.conv1 = nn.Conv2d(8, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.conv2 = nn.Conv2d(8, 8, 3, padding=1)
        self.head = nn.Linear(8, 4)

    def forward(self, x):
        h = torch.relu(self.stem(x))
        h = torch.relu(h + self.conv2(torch.relu(self.bn(self.conv1(h)))))  # the residual add
        return self.head(h.mean(dim=(2, 3)))


def test_flows_sum_to_every_gradient_in_a_residual_cnn():
    torch.manual_seed(0)
    model = ResidualCNN()
    x = torch.randn(2, 3, 6, 6, requires_grad=True)
    loss = model(x).logsumexp(1).sum()
    g, sent, ref = traced(loss)
    assert check_every_edge(g, sent) == len(g.edges)
    assert check_sums(g, loss, ref) >= 1
    stem_out = [n for n in g if len(g.flows_into(n)) == 2]
    assert stem_out, "the residual add's input has two consumers"


def test_flows_into_come_in_the_order_autograd_summed_them():
    torch.manual_seed(0)
    a = torch.randn(1000, requires_grad=True)
    c = a * 1.1
    loss = (c.sin() + c.cos() * c + c.exp() + c.tanh() * c.sigmoid()).sum()
    g = gradviz.trace(loss)
    loss.backward()
    terms = [grad for _, grad in g.flows_into(c)]
    assert len(terms) == 6
    assert torch.equal(functools.reduce(torch.add, terms), g.grad_of(c))  # bit for bit
    # float addition is not associative: another order misses (the check is not vacuous)
    assert not torch.equal(functools.reduce(torch.add, terms[::-1]), g.grad_of(c))


def test_consumer_flow_equals_a_vjp_through_that_consumer_alone():
    A = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    B = torch.tensor([4.0, 5.0, 6.0], requires_grad=True)
    C, D = A.exp(), A.sin()
    L = (C * B).sum() + (D * D).sum()
    dC, dD = torch.autograd.grad(L, (C, D), retain_graph=True)
    via_c = torch.autograd.grad(C, A, dC, retain_graph=True)[0]
    via_d = torch.autograd.grad(D, A, dD, retain_graph=True)[0]
    g = gradviz.trace(L)
    L.backward()
    assert_close(g.flow(A, C), via_c)
    assert_close(g.flow(A, D), via_d)


def test_two_edges_between_the_same_pair_are_kept_apart():
    x = torch.tensor([1.0, -2.0], requires_grad=True)
    w = torch.tensor([3.0, 5.0])
    y = x * x
    loss = (y * w).sum()
    g = gradviz.trace(loss)
    loss.backward()
    into = g.flows_into(x)
    assert [c.id for c, _ in into] == [g.node_for(y).id] * 2
    assert [grad.tolist() for _, grad in into] == [(w * x).tolist()] * 2
    assert torch.equal(g.flow(x, y, which=1), w * x.detach())
    with pytest.raises(FlowError, match="2 edges join"):
        g.flow(x, y)


# -- no gradient -----------------------------------------------------------------------------
class DropsFirst(torch.autograd.Function):
    @staticmethod
    def forward(ctx, a, b):
        return a * 2 + b

    @staticmethod
    def backward(ctx, grad):
        return None, grad


class ZeroFirst(DropsFirst):
    @staticmethod
    def backward(ctx, grad):
        return torch.zeros_like(grad), grad


def test_a_function_that_returns_none_sends_no_gradient_not_zero():
    a = torch.ones(3, requires_grad=True)
    b = torch.ones(3, requires_grad=True)
    none = DropsFirst.apply(a, b)
    zero = ZeroFirst.apply(a, b)
    other = a * 3
    loss = (none + zero + other).sum()
    g = gradviz.trace(loss)
    loss.backward()
    assert g.flow(a, none) is None
    assert torch.equal(g.flow(a, zero), torch.zeros(3))
    assert torch.equal(g.flow(a, other), torch.full((3,), 3.0))
    assert "no gradient via" in spell_sum(g, g.node_for(a))


def test_a_single_consumer_that_sends_none():
    a = torch.ones(3, requires_grad=True)
    b = torch.ones(3, requires_grad=True)
    out = DropsFirst.apply(a, b)
    loss = out.sum()
    g = gradviz.trace(loss)
    loss.backward()
    assert g.flow(a, out) is None
    assert torch.equal(g.flow(b, out), torch.ones(3))


# -- bad input -------------------------------------------------------------------------------
def _small():
    A = torch.ones(2, requires_grad=True)
    C = A * 2
    L = (C + A).sum()
    return A, C, L


def test_flows_of_a_pass_not_traced_say_so():
    A, C, L = _small()
    g = gradviz.trace(L)
    with pytest.raises(FlowsNotCapturedError, match="backward has not run"):
        g.flow(A, C)
    L.backward()
    A, C, L = _small()
    off = gradviz.trace(L, flows=False)
    L.backward()
    with pytest.raises(FlowsNotCapturedError, match="flows=False"):
        off.flows_into(A)
    assert isinstance(FlowsNotCapturedError("x"), gradviz.GradvizError)


def test_large_graphs_capture_flows_on_demand(monkeypatch):
    monkeypatch.setattr(flows_mod, "DEFAULT_MAX_NODES", 2)
    monkeypatch.setattr(sys.modules["gradviz.core.trace"], "DEFAULT_MAX_NODES", 2)
    A, C, L = _small()
    g = gradviz.trace(L)
    L.backward()
    with pytest.raises(FlowsNotCapturedError, match=r"flows=True"):
        g.flow(A, C)
    A, C, L = _small()
    g = gradviz.trace(L, flows=True)
    L.backward()
    assert torch.equal(g.flow(A, C), torch.full((2,), 2.0))


def test_edges_that_do_not_exist_and_nodes_of_other_graphs_are_refused():
    A, C, L = _small()
    g = gradviz.trace(L)
    L.backward()
    A2, C2, L2 = _small()
    g2 = gradviz.trace(L2)
    L2.backward()
    with pytest.raises(FlowError, match="no edge"):
        g.flow(C, A)  # the wrong way round
    with pytest.raises(FlowError, match="another graph"):
        g.flow(g2.node_for(A2), g.node_for(C))
    with pytest.raises(FlowError, match="not in the graph"):
        g.flow(A2, C)
    with pytest.raises(FlowError, match="no node named"):
        g.flow("nope", C)
    with pytest.raises(FlowError, match="which=5"):
        g.flow(A, C, which=5)


# -- budget and keep -------------------------------------------------------------------------
def test_flows_count_against_the_budget_and_follow_keep():
    torch.manual_seed(0)
    X = torch.randn(64, 64, requires_grad=True)
    H = X * 2
    loss = ((H.sin() + H.cos()) * 3).sum()
    # namespace={}: no variable names, which would keep H's gradients whole (as keep= does)
    whole = gradviz.trace(loss, flows=False, namespace={})
    loss.backward(retain_graph=True)
    with_flows = gradviz.trace(loss, namespace={})
    loss.backward(retain_graph=True)
    # two flows into H, of H's size, are counted on top of the node gradients (the count can
    # be one gradient more: the budget's same-address rule sees the hooks interleaved)
    assert with_flows.capture.budget.used >= whole.capture.budget.used + 2 * H.numel() * 4
    # a budget that holds only some: the flows past it are summaries with the clear error
    tight = gradviz.trace(loss, budget=whole.capture.budget.used, namespace={})
    loss.backward(retain_graph=True)
    assert tight.capture.budget.used <= whole.capture.budget.used
    summarised = [e for e in range(len(tight.edges))
                  if flows_mod.flow_snapshot(tight, e).data is None]
    assert summarised
    src, dst, _ = tight.edges[summarised[0]]
    with pytest.raises(gradviz.SummarisedGradError, match="kept only as a summary"):
        tight.flow(tight.node(src), tight.node(dst))
    snap = flows_mod.flow_snapshot(tight, summarised[0])
    want = flows_mod.flow_snapshot(with_flows, summarised[0]).data
    assert snap.stats["norm"] == pytest.approx(want.double().norm().item(), rel=1e-5)
    # keep=[H]: flows into H whole whatever the budget
    kept = gradviz.trace(loss, budget=0, keep=[H], namespace={})
    loss.backward()
    for consumer, grad in kept.flows_into(H):
        assert torch.equal(grad, with_flows.flow(H, consumer.id))


# -- files -----------------------------------------------------------------------------------
def test_json_keeps_edges_and_adds_every_flow(monkeypatch):
    graph = run_demo("accumulate", monkeypatch).passes[0].graph
    doc = json.loads(to_json(graph))
    assert doc["edges"] == [list(e) for e in sorted({(s, d) for s, d, _ in graph.edges})]
    assert [[e["from"], e["to"], e["output_nr"]] for e in doc["flows"]] == \
        [list(e) for e in graph.edges]
    for entry, e in zip(doc["flows"], range(len(graph.edges))):
        want = flows_mod.flow_snapshot(graph, e)
        assert entry["grad"]["data"] == want.data.tolist()
        assert set(entry["grad"]) == {"shape", "dtype", "stats", "data"}
    off = gradviz.trace(_small()[2], flows=False)
    assert json.loads(to_json(off))["flows"] is None


def test_sessions_save_and_load_flows(tmp_path):
    torch.manual_seed(0)
    A = torch.randn(3, requires_grad=True)
    x = torch.randn(40, 40, requires_grad=True)  # a summarised flow too
    C, D = A * 2, A.exp()
    h = x * 1.0
    L = (C * D).sum() + (h.sin() * h).sum()
    g = gradviz.trace(L, budget=4000)
    L.backward()
    path = gradviz.save(g, tmp_path / "f.gradviz")
    back = gradviz.load(path)
    for node in g:
        assert flows_mod.incoming(back, node.id) == flows_mod.incoming(g, node.id)
        assert spell_sum(back, back.node(node.id)) == spell_sum(g, node)
    for e in range(len(g.edges)):
        a, b = flows_mod.flow_snapshot(g, e), flows_mod.flow_snapshot(back, e)
        assert (a is None) == (b is None)
        if a is not None and a.data is not None:
            assert torch.equal(a.data, b.data)
        elif a is not None:
            assert b.stats["norm"] == pytest.approx(a.stats["norm"])
    off = gradviz.trace(_small()[2], flows=False)
    with pytest.raises(FlowsNotCapturedError):
        gradviz.load(gradviz.save(off, tmp_path / "off.gradviz")).flow(1, 0)


def test_a_session_whose_flow_names_a_missing_edge_is_refused(tmp_path):
    import zipfile

    A = torch.ones(2, requires_grad=True)
    L = (A * 2 + A).sum()
    g = gradviz.trace(L)
    L.backward()
    path = gradviz.save(g, tmp_path / "f.gradviz")
    with zipfile.ZipFile(path) as zf:
        files = {n: zf.read(n) for n in zf.namelist()}
    doc = json.loads(files["graph.json"])
    assert doc["flows"]
    doc["flows"][0][0] = 99
    files["graph.json"] = json.dumps(doc).encode()
    bad = tmp_path / "bad.gradviz"
    with zipfile.ZipFile(bad, "w") as zf:
        for n, data in files.items():
            zf.writestr(n, data)
    with pytest.raises(SessionError, match=r"flows\[0\]\[0\]: edge 99"):
        gradviz.load(bad)


# -- the command line ------------------------------------------------------------------------
def test_export_flows_option_captures_them_above_the_default_size(tmp_path, monkeypatch):
    from gradviz.cli import main

    monkeypatch.setattr(sys.modules["gradviz.core.trace"], "DEFAULT_MAX_NODES", 2)
    script = tmp_path / "net.py"
    script.write_text("import torch\nA = torch.tensor([1.0, 2.0], requires_grad=True)\n"
                      "L = (A * 3 + A.exp()).sum()\nL.backward()\n")
    docs = {}
    for option in ((), ("--flows",)):
        out = tmp_path / f"g{len(option)}.json"
        assert main(["export", str(script), "-o", str(out), "--quiet", *option]) == 0
        docs[option] = json.loads(out.read_text())
    assert docs[()]["flows"] is None
    doc = docs[("--flows",)]
    a = next(n["id"] for n in doc["nodes"] if n["name"] == "A")
    into_a = sorted(f["grad"]["data"] for f in doc["flows"] if f["from"] == a)
    want = sorted([[3.0, 3.0], torch.tensor([1.0, 2.0]).exp().tolist()])  # d(3A)/dA, d(e^A)/dA
    assert_close(torch.tensor(into_a), torch.tensor(want))
