"""The window holds one view model, changes it through one method and redraws on one signal;
background jobs get the frozen model of the moment they were asked for."""

from dataclasses import FrozenInstanceError

import pytest

from gradviz.app import jobs
from gradviz.core.viewmodel import Colouring, ViewModel

from .conftest import draw


def test_one_change_one_signal_one_redraw(qtbot, window, seed_graph):
    draw(qtbot, window, seed_graph)
    seen = []
    window.model_changed.connect(lambda old, new: seen.append((old, new)))
    before = window.model
    with qtbot.waitSignal(window.layout_applied, timeout=20_000):
        window.change(theme="dark", colouring=Colouring.HEALTH)
    assert len(seen) == 1 and seen[0] == (before, window.model)
    assert before.differs(window.model) == {"theme", "colouring"}
    assert window.layout_data.model is window.model and window.layout_data.theme == "dark"
    window.change(theme="dark")  # nothing differs: no signal
    assert len(seen) == 1


def test_the_menus_and_the_player_go_through_the_one_method(qtbot, window, seed_graph):
    draw(qtbot, window, seed_graph)
    seen = []
    window.model_changed.connect(lambda old, new: seen.append(old.differs(new)))
    with qtbot.waitSignal(window.layout_applied, timeout=20_000):
        window.actions_by_name["health"].setChecked(True)
    with qtbot.waitSignal(window.layout_applied, timeout=20_000):
        window.player.next()
    z = seed_graph.find("Z").id
    window.select_node(z)
    assert seen == [{"colouring"}, {"state"}, {"selection"}]
    assert window.model.colouring is Colouring.HEALTH and window.model.selection == z
    assert window.view.selected == z and window.inspector.key == z


def test_a_job_gets_a_frozen_copy(qtbot, window, seed_graph, monkeypatch):
    draw(qtbot, window, seed_graph)
    given = []
    real = jobs.restyle_job
    monkeypatch.setattr(jobs, "restyle_job", lambda placed, model: given.append(model)
                        or real(placed, model))
    with qtbot.waitSignal(window.layout_applied, timeout=20_000):
        window.change(theme="dark")
    (model,) = given
    window.change(theme="light", labels="full")  # the window moves on; the job's model does not
    assert isinstance(model, ViewModel) and (model.theme, model.labels) == ("dark", "compact")
    with pytest.raises(FrozenInstanceError):
        model.theme = "light"


def test_showing_the_same_graph_again_starts_the_player_over(qtbot, window, seed_graph):
    draw(qtbot, window, seed_graph)
    with qtbot.waitSignal(window.layout_applied, timeout=20_000):
        window.player.next()
    assert window.player.step == 0 and window.model.state is not None
    with qtbot.waitSignal(window.layout_applied, timeout=20_000):
        window.set_graph(seed_graph)  # the pass selector, choosing the pass shown
    assert window.player.step is None and window.model.state is None
    assert all(box.mark is None for box in window.layout_data.nodes.values())
