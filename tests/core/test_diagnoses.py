"""Issue 14's diagnoses from Python: ``record()`` notes versions, writes and cuts;
``gradviz.explain(exc)`` words them and keeps torch's message. The user's code runs from a
source string compiled as ``user.py``, so the test knows its line numbers."""

import linecache
import textwrap

import pytest
import torch

import gradviz
from gradviz.core.diagnoses.twice import earlier_part
from gradviz.core.diagnoses.unused import INFO_KEY
from gradviz.core.diagnosis import diagnose


def run_user(source: str) -> dict:
    """Run ``source`` as the file ``user.py`` (its lines in linecache, as a notebook cell's
    are); its variables afterwards."""
    source = textwrap.dedent(source)
    linecache.cache["user.py"] = (len(source), None, source.splitlines(True), "user.py")
    namespace = {"torch": torch, "gradviz": gradviz}
    exec(compile(source, "user.py", "exec"), namespace)
    return namespace


def line(source: str, code: str) -> str:
    found = [i + 1 for i, text in enumerate(textwrap.dedent(source).splitlines()) if code in text]
    assert len(found) == 1, (code, found)
    return f"user.py:{found[0]}"


INPLACE = """
x = torch.randn(5, requires_grad=True)
with gradviz.record():
    y = x.exp()
    z = y * 3
    y.add_(1)
    y[0] = 0.0
    loss = (y * z).sum()
graph = gradviz.trace(loss)
try:
    loss.backward()
except RuntimeError as err:
    error = err
"""


def test_record_notes_the_version_of_each_saved_tensor_and_each_write():
    ns = run_user(INPLACE)
    exp = ns["graph"].find("ExpBackward0")
    from gradviz.core.record import tag_of

    assert tag_of(exp.graph.cols.fn[exp.id])["versions"] == [0]  # the result, as exp saved it
    text = gradviz.explain(ns["error"])
    assert f"add_, __setitem__ at {line(INPLACE, 'y.add_(1)')}, " \
           f"{line(INPLACE, 'y[0] = 0.0')} changed a [5] tensor that ExpBackward0 at " \
           f"{line(INPLACE, 'x.exp()')} saved for backward" in text
    assert "fix: `y = y.add(1)` instead of `y.add_(1)`" in text
    # torch's message, as raised, is the last thing said
    assert text.endswith("RuntimeError: " + str(ns["error"]))


def test_the_finding_marks_what_torch_blames():
    ns = run_user(INPLACE)
    (finding,) = diagnose(ns["graph"], ns["error"])
    ops = sorted(ns["graph"].node(n).op for n in finding.nodes)
    # Exp saved y; add_ and y[0] = ... made AddBackward0 and CopySlices
    assert ops == ["AddBackward0", "CopySlices", "ExpBackward0"]


def test_without_record_the_saving_op_is_still_found_and_the_lines_are_said_missing():
    ns = run_user("""
        x = torch.randn(3, requires_grad=True)
        y = torch.sigmoid(x)
        y.mul_(2)
        loss = y.sum()
        graph = gradviz.trace(loss)
        try:
            loss.backward()
        except RuntimeError as err:
            error = err
    """)
    (finding,) = diagnose(ns["graph"], ns["error"])
    assert [ns["graph"].node(n).op for n in finding.nodes] == ["SigmoidBackward0"]
    text = gradviz.explain(ns["error"])
    assert "gradviz.record()" in text and "would name" in text
    assert str(ns["error"]) in text


def test_an_exception_gradviz_does_not_know_is_shown_as_it_is():
    text = gradviz.explain(ValueError("shapes (2, 3) and (5, 5) do not match"))
    assert "makes no guess" in text
    assert text.splitlines()[-1].strip() == "ValueError: shapes (2, 3) and (5, 5) do not match"


NO_GRAD = """
model = torch.nn.Linear(3, 1)
with gradviz.record():
    with torch.no_grad():
        out = model(torch.randn(4, 3))
    loss = out.pow(2).mean()
try:
    loss.backward()
except RuntimeError as err:
    error = err
"""


def test_a_forward_under_no_grad_is_named_as_the_cut():
    ns = run_user(NO_GRAD)
    (finding,) = diagnose(None, ns["error"])
    assert finding.kind == "cut_chain"
    assert finding.title.endswith(f"the chain was cut at {line(NO_GRAD, 'out = model(')}")
    assert "torch.no_grad()" in finding.details[0]
    assert line(NO_GRAD, "loss.backward()") in finding.where


def test_parameters_never_set_to_require_grad_are_said_so():
    ns = run_user("""
        model = torch.nn.Linear(3, 1).requires_grad_(False)
        with gradviz.record():
            loss = model(torch.randn(4, 3)).pow(2).mean()
        try:
            loss.backward()
        except RuntimeError as err:
            error = err
    """)
    text = gradviz.explain(ns["error"])
    assert "requires_grad was never set" in text


def test_the_earlier_part_without_an_earlier_trace_is_what_the_first_step_built():
    """Plain ``trace`` on the second step only: the first step's graph was never traced, so
    the freed saved tensors and autograd's numbering tell the parts apart."""
    ns = run_user("""
        cell = torch.nn.RNNCell(2, 3)
        h = torch.zeros(1, 3)
        steps = []
        for step in range(2):
            h = cell(torch.randn(1, 2), h)
            loss = (h * h).sum()
            steps.append(loss.grad_fn)
            if step == 1:
                graph = gradviz.trace(loss)
            try:
                loss.backward()
            except RuntimeError as err:
                error = err
    """)
    graph = ns["graph"]

    def ops_from(root):  # every Node behind the first step's loss, walked here
        seen, todo = set(), [root]
        while todo:
            fn = todo.pop()
            if fn is not None and fn not in seen and type(fn).__name__ != "AccumulateGrad":
                seen.add(fn)
                todo += [nxt for nxt, _ in fn.next_functions]
        return seen

    first = ops_from(ns["steps"][0]) - {ns["steps"][0], ns["steps"][0].next_functions[0][0]}
    expected = {graph.index[fn] for fn in first if fn in graph.index}
    assert expected and earlier_part(graph) == expected
    (finding,) = diagnose(graph, ns["error"])
    assert "h = h.detach()" in finding.suggestion


def test_parameters_without_gradient_are_those_whose_grad_stays_none():
    ns = run_user("""
        class Net(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.body, self.head = torch.nn.Linear(3, 4), torch.nn.Linear(4, 1)
                self.spare = torch.nn.Linear(4, 1)

            def forward(self, x):
                return self.head(self.body(x).detach())

        model = Net()
        with gradviz.record():
            loss = model(torch.randn(5, 3)).mean()
        graph = gradviz.trace(loss)
        loss.backward()
    """)
    model, graph = ns["model"], ns["graph"]
    no_grad = sorted(n for n, p in model.named_parameters() if p.grad is None)
    assert no_grad and sorted(name for name, _, _ in graph.info[INFO_KEY]) == no_grad
    reasons = {name: why for name, why, _ in graph.info[INFO_KEY]}
    assert reasons["body.weight"] == "cut by .detach()"
    assert reasons["spare.weight"] == "not used on the way to the loss"
    findings = [f for f in diagnose(graph) if f.kind == "unused_parameters"]
    assert [f.severity for f in findings] == ["warning", "warning"]


@pytest.mark.parametrize("code, kind", [("x.detach()", "detach"), ("x.sum().item()", "item"),
                                        ("x.tolist()", "tolist"), ("float(x[0])", "number"),
                                        ("x.long()", "integer"), ("torch.tensor(x)", "copy")])
def test_each_kind_of_cut_is_noted(code, kind):
    from gradviz.core.forwardlog import LOG

    x = torch.randn(3, requires_grad=True)
    with gradviz.record():
        eval(code)  # noqa: S307 - a fixed expression of this test
    assert [c.kind for c in LOG.cuts_of_step()] == [kind]


def test_masks_shapes_and_like_tensors_are_no_cuts():
    from gradviz.core.forwardlog import LOG

    x = torch.randn(3, requires_grad=True)
    with gradviz.record():
        (x > 0).float() * x + torch.zeros_like(x) + x.shape[0]
        with torch.no_grad():
            x.grad  # reading an attribute under no_grad is no use of x
    assert LOG.cuts_of_step() == []


def test_an_optimizer_step_is_no_cut():
    """Weight decay reads each parameter under no_grad: the optimizer's work, no use of it
    that the next forward's diagnoses should blame."""
    from gradviz.core.forwardlog import LOG

    model = torch.nn.Linear(3, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, weight_decay=0.1, foreach=False)
    with gradviz.record():
        model(torch.randn(4, 3)).sum().backward()
        opt.step()
    assert LOG.cuts_of_step() == []
