"""The diagnosis in the window: a bar over the graph with "show me", the inspector's section,
Ctrl+N through every NaN or Inf, and an exception shown as raised."""

import warnings
from pathlib import Path

import pytest
import torch
from PySide6.QtCore import Qt

from gradviz.core.runner import ScriptError, run_script
from tests.app.conftest import out, summary
from tests.oracles import NonFinite

SCRIPTS = Path(__file__).parent.parent / "scripts"


def _open(qtbot, window, graph, error=None):
    """Show ``graph`` with ``error`` and wait until it is drawn, diagnosed and summed up."""
    with qtbot.waitSignals([window.layout_applied, window.diagnosed], timeout=20_000):
        window.set_graph(graph, error=error)
    summary(qtbot, window)


def _nan_run():
    script = SCRIPTS / "nan_loss.py"
    with NonFinite(script) as oracle:
        (graph,) = run_script(script).passes
    return graph, oracle


def test_a_nan_script_opens_with_the_bar_and_show_me_marks_and_selects_its_origins(qtbot, window):
    graph, oracle = _nan_run()
    made, line = oracle.made
    forward, backward = graph.index[made], graph.index[oracle.first_bad_grad]
    _open(qtbot, window, graph)
    bar = window.diagnosis
    assert bar.isVisible() and line in bar.title.text() and bar.title.text().startswith("Warning")
    assert bar.property("severity") == "warning"
    assert "Diagnosis" in window.inspector.text() and line in window.inspector.text()
    with qtbot.waitSignal(window.layout_applied, timeout=20_000):  # marked: a restyle
        qtbot.mouseClick(bar.show_button, Qt.LeftButton)
    assert window.view.selected == forward
    assert window.model.marked == {forward, backward}
    drawn = window.layout_data.nodes
    assert {k for k, b in drawn.items() if b.mark == "marked"} == {forward, backward}
    assert line in window.inspector.text()  # the selected node's own finding
    window.screenshot(out("diagnosis_nan.png"))
    qtbot.mouseClick(bar.show_button, Qt.LeftButton)  # steps to the next node
    assert window.view.selected == backward
    qtbot.mouseClick(bar.show_button, Qt.LeftButton)
    assert window.view.selected == forward
    with qtbot.waitSignal(window.layout_applied, timeout=20_000):
        qtbot.mouseClick(bar.findChildren(type(bar.prev))[-1], Qt.LeftButton)  # ✕
    assert not bar.isVisible() and window.model.marked == frozenset()


def test_ctrl_n_cycles_through_every_nonfinite_node_origins_first(qtbot, window):
    graph, oracle = _nan_run()
    _open(qtbot, window, graph)
    bad = {graph.index[fn] for fn, ok in oracle.reached if not ok}
    bad |= {n.id for n in graph if n.kind == "leaf" and not n.tensor.grad.isfinite().all()}
    seen = []
    action = window.actions_by_name["next_nan"]
    assert action.shortcut().toString() == "Ctrl+N"
    while True:
        action.trigger()
        if window.view.selected in seen:
            break
        seen.append(window.view.selected)
    assert seen[:2] == [graph.index[oracle.made[0]], graph.index[oracle.first_bad_grad]]
    assert window.view.selected == seen[0]  # round again
    assert bad <= set(seen)


def test_a_dark_bar_for_a_backward_that_raised(qtbot, window):
    x = torch.tensor([0.0, 1.0], requires_grad=True)
    import gradviz
    with gradviz.record():
        root = x.sqrt()
        loss = (root * torch.tensor([0.0, 1.0])).sum()
    g = gradviz.trace(loss)
    with pytest.raises(RuntimeError) as raised, torch.autograd.detect_anomaly():
        loss.backward()
    window.change(theme="dark")
    _open(qtbot, window, g, raised.value)
    bar = window.diagnosis
    assert bar.title.text().startswith("Error: NaN/Inf in backward: sqrt's backward")
    assert "raised: RuntimeError: Function 'SqrtBackward0' returned nan" in bar.error.text()
    assert bar.error.isVisible() and bar.property("severity") == "error"
    assert "raised: RuntimeError: Function 'SqrtBackward0'" in window.inspector.text()
    # sum, mul and sqrt were reached; x's AccumulateGrad never was
    assert [g.cols.op[n] for n in g.capture.order] == ["SumBackward0", "MulBackward0",
                                                       "SqrtBackward0"]
    assert "Backward: raised after reaching 3 of 4 nodes" in window.inspector.text()
    window.screenshot(out("diagnosis_anomaly_dark.png"))


def test_an_unrecognised_exception_is_shown_as_raised(qtbot, window):
    with pytest.raises(ScriptError) as raised:
        run_script(SCRIPTS / "raises.py")
    (graph,) = run_script(SCRIPTS / "net1linear.py").passes
    _open(qtbot, window, graph, raised.value)
    bar = window.diagnosis
    assert bar.isVisible() and bar.title.text() == str(raised.value).splitlines()[0]
    assert not bar.show_button.isVisible() and not bar.error.isVisible()
    qtbot.mouseClick(bar.trace_button, Qt.LeftButton)
    assert bar.traceback.isVisible() and bar.traceback.toPlainText() == raised.value.traceback
    assert "raised: " + str(raised.value).splitlines()[0] in window.inspector.text()
    window.screenshot(out("diagnosis_unrecognised.png"))


def test_a_clean_graph_opens_without_a_bar_and_the_summary_gives_the_scale_verdict(qtbot, window):
    (graph,) = run_script(SCRIPTS / "sigmoid_deep.py").passes
    _open(qtbot, window, graph)
    bar = window.diagnosis
    assert bar.isVisible() and "Note: Gradients vanish" in bar.title.text()
    listing = window.findings[0].details  # every layer's norm: the inspector has them all
    assert len(listing) > 5
    assert f"{len(listing) - 4} more lines in the inspector" in bar.details.text()
    assert all(line in window.inspector.text() for line in listing)
    assert "Gradients vanish: layers.0's gradient norm" in window.inspector.summary.text()
    with qtbot.waitSignal(window.layout_applied, timeout=20_000):
        qtbot.mouseClick(bar.show_button, Qt.LeftButton)
    (where,) = {graph.cols.module[n] for n in window.findings[0].nodes}
    assert window.layout_data.nodes[window.view.selected].mark == "marked"
    assert where in window.inspector.text()
    window.screenshot(out("diagnosis_vanishing.png"))
    (clean,) = run_script(SCRIPTS / "net1linear.py").passes
    _open(qtbot, window, clean)
    assert not window.diagnosis.isVisible() and window.findings == []


def test_several_findings_step_with_the_arrows_and_show_me_steps_each_ones_nodes(qtbot, window):
    """The bar with an in-place error and a NaN warning, both found by their checks."""
    import gradviz

    x = torch.tensor([0.0, 1.0, 2.0], requires_grad=True)
    with gradviz.record():
        y = x.sigmoid()
        y.mul_(2)
        loss = y.sum() + (x - x).log().sum()  # and a log of 0: -inf
    g = gradviz.trace(loss)
    with pytest.raises(RuntimeError, match="modified by an inplace operation") as raised:
        loss.backward()
    sig, mul = g.find("SigmoidBackward0").id, g.find("MulBackward0").id
    _open(qtbot, window, g, raised.value)
    bar = window.diagnosis
    inplace = window.findings[0]
    assert inplace.kind == "inplace" and set(inplace.nodes) == {sig, mul}
    assert bar.position.isVisible() and bar.position.text() == "1 of 2"
    assert "raised: RuntimeError: one of the variables needed" in bar.error.text()
    with qtbot.waitSignal(window.layout_applied, timeout=20_000):
        qtbot.mouseClick(bar.show_button, Qt.LeftButton)
    first, second = inplace.nodes
    assert window.view.selected == first and window.model.marked == {sig, mul}
    assert bar.show_button.text() == "Show me 2/2"
    qtbot.mouseClick(bar.show_button, Qt.LeftButton)
    assert window.view.selected == second
    window.screenshot(out("diagnosis_inplace.png"))
    qtbot.mouseClick(bar.next, Qt.LeftButton)
    assert [f.kind for f in window.findings] == ["inplace", "nonfinite"]
    assert bar.title.text().startswith("Warning: NaN/Inf: log made")
    nan = window.findings[1]
    assert bar.position.text() == "2 of 2"
    assert bar.show_button.text() == ("Show me 1/2" if len(nan.nodes) == 2 else "Show me")


def test_the_presenter_draws_a_diagnosis_mark_strong():
    from gradviz.app.presenter import CONTRAST, high_contrast
    from gradviz.core.viewmodel import ViewModel
    from gradviz.layout import layout

    graph, oracle = _nan_run()
    forward = graph.index[oracle.made[0]]
    for theme in ("light", "dark"):
        strong = high_contrast(layout(ViewModel(graph, theme=theme, marked={forward})))
        box = strong.nodes[forward]
        assert box.border == CONTRAST[theme]["marked"] and box.pen > strong.nodes[0].pen


def test_the_exception_belongs_to_the_newest_pass(qtbot, window):
    passes = run_script(SCRIPTS / "training_loop.py", ["2"]).passes
    error = ValueError("the loss went up")
    with qtbot.waitSignals([window.layout_applied, window.diagnosed], timeout=20_000):
        window.set_passes(passes, error=error)
    bar = window.diagnosis
    assert bar.isVisible() and bar.title.text() == "ValueError: the loss went up"
    older = window.pass_box.findData(0)
    with qtbot.waitSignals([window.layout_applied, window.diagnosed], timeout=20_000):
        window.pass_box.activated.emit(older)
    assert window.graph is passes[0] and not window.diagnosis.isVisible()
    with qtbot.waitSignals([window.layout_applied, window.diagnosed], timeout=20_000):
        window.pass_box.activated.emit(window.pass_box.findData(len(passes) - 1))
    assert window.graph is passes[-1] and window.diagnosis.isVisible()
    with qtbot.waitSignal(window.diagnosed, timeout=20_000):  # the same pass again: no redraw
        window.pass_box.activated.emit(window.pass_box.findData(len(passes) - 1))
    assert window.diagnosis.isVisible()
