"""A script whose backward raises: the window shows the pass that raised under the diagnosis
bar (no dialog), and its graph carries the diagnosis (``info["findings"]``)."""

from pathlib import Path

from tests.app.conftest import out

SCRIPTS = Path(__file__).parent.parent / "scripts"


def test_the_pass_that_raised_is_shown_with_its_findings(qtbot, window):
    with qtbot.waitSignal(window.layout_applied, timeout=60_000):
        window.open_source(str(SCRIPTS / "inplace_saved.py"))
    graph = window.graph
    assert graph.info["error"].startswith("RuntimeError: one of the variables needed")
    (finding,) = graph.info["findings"]
    assert finding.kind == "inplace"
    assert {graph.node(n).op for n in finding.nodes} == {"SigmoidBackward0", "MulBackward0"}
    with qtbot.waitSignal(window.diagnosed, timeout=60_000):
        pass
    assert [f.kind for f in window.findings] == ["inplace"]
    assert window.diagnosis.isVisible() and "inplace_saved.py:10" in window.diagnosis.title.text()
    assert window.last_error is None or not window.last_error.isVisible()
    window.screenshot(out("failed_pass.png"))


def test_the_bar_appearing_above_a_fitted_graph_keeps_the_whole_graph_in_view(qtbot, window):
    with qtbot.waitSignal(window.layout_applied, timeout=60_000):
        window.open_source(str(SCRIPTS / "inplace_saved.py"))
    with qtbot.waitSignal(window.diagnosed, timeout=60_000):
        pass
    qtbot.waitUntil(window.diagnosis.isVisible)
    view = window.view

    def whole_graph_in_view():
        shown = view.mapToScene(view.viewport().rect()).boundingRect()
        return all(shown.contains(item.sceneBoundingRect()) for item in view.nodes.values())

    qtbot.waitUntil(whole_graph_in_view, timeout=5_000)


def test_show_me_on_a_graph_that_fits_selects_without_moving_the_picture(qtbot, window):
    with qtbot.waitSignal(window.layout_applied, timeout=60_000):
        window.open_source(str(SCRIPTS / "inplace_saved.py"))
    with qtbot.waitSignal(window.diagnosed, timeout=60_000):
        pass
    view = window.view
    before = view.mapToScene(view.viewport().rect()).boundingRect()
    finding = window.findings[0]
    window.diagnosis.show_button.click()
    assert view.selected in finding.nodes
    assert view.mapToScene(view.viewport().rect()).boundingRect() == before
