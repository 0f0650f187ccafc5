"""Gradient-health colouring with its legend, and "jump to first NaN" in backward order."""

import torch

import gradviz
from gradviz.core.select import first_nonfinite
from tests.app.conftest import draw, out


def nan_graph():
    x = torch.tensor([4.0, 1.0, 0.5], requires_grad=True)
    w = torch.tensor([1.0, 1.0, 1.0], requires_grad=True)
    shifted = x - 1.0
    root = shifted.sqrt()  # d sqrt at 0 is inf: the first non-finite gradient appears here
    dead = (w * 0).sum()  # an all-zero gradient for w
    loss = root.sum() + dead
    g = gradviz.trace(loss)
    loss.backward()
    return g, g.node_for(root).id


def test_health_colours_legend_and_first_nan(qtbot, window):
    g, sqrt_id = nan_graph()
    assert first_nonfinite(g) is not None
    draw(qtbot, window, g)
    plain = {k: item.box.fill for k, item in window.view.nodes.items()}
    with qtbot.waitSignal(window.layout_applied, timeout=20_000):
        window.actions_by_name["health"].setChecked(True)
    coloured = {k: item.box.fill for k, item in window.view.nodes.items()}
    assert coloured != plain
    assert window.view.legend.isVisible()
    legend = " ".join(lbl.text() for lbl in window.view.legend.findChildren(type(window.banner)))
    assert "NaN" in legend or "nan" in legend.lower()
    window.actions_by_name["next_nan"].trigger()
    first = window.view.selected
    assert first == first_nonfinite(g)
    # it is the earliest node in backward order whose gradient is not finite
    order = g.capture.order
    bad = [n for n in order if any(s is not None and s.has_nonfinite for s in g.node(n).grad_snapshots)]
    assert first == bad[0]
    assert "inf" in window.inspector.text() or "nan" in window.inspector.text()
    window.screenshot(out("health_first_nan.png"))
    with qtbot.waitSignal(window.layout_applied, timeout=20_000):
        window.actions_by_name["health"].setChecked(False)
    assert not window.view.legend.isVisible()
    assert {k: item.box.fill for k, item in window.view.nodes.items()} == plain


def test_graphviz_missing_shows_fallback_and_banner(qtbot, window, monkeypatch):
    import gradviz.layout.graphviz_run as run

    monkeypatch.setattr(run.shutil, "which", lambda name: None)
    a = torch.ones(3, requires_grad=True)
    loss = (a.exp() * a.sin() + a.cosh()).tanh().sum()  # a structure no other test lays out
    g = gradviz.trace(loss)
    loss.backward()
    draw(qtbot, window, g)
    assert window.layout_data.engine == "layered"
    assert window.banner.isVisible() and "apt-get install graphviz" in window.banner.text()
    assert len(window.view.nodes) == len(g)
    window.screenshot(out("graphviz_missing.png"))
