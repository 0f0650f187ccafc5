"""The view model: frozen, one parse for drawn keys, the folded view worked out once."""

from dataclasses import FrozenInstanceError

import pytest

from gradviz.core import viewmodel
from gradviz.core.collapse import toggled, view
from gradviz.core.errors import GradvizError
from gradviz.core.keys import BoxKind, ModuleKey, NodeKey, RunKey, parse_key
from gradviz.core.runs import Run
from gradviz.core.viewmodel import Colouring, PlayerState, ViewModel
from gradviz.layout import layout, restyle
from gradviz.layout.dotsource import key_of, node_name
from gradviz.layout.export import file_bytes
from tests.layout.test_runs import encoder

RUN = Run("layers", 0, 5)


@pytest.fixture(scope="module")
def transformer():
    return encoder()


def test_a_model_cannot_be_changed_in_place_only_copied(transformer):
    model = ViewModel(transformer, {RUN}, state={"current": 3, "done": {1, 2}})
    for name, value in (("theme", "dark"), ("collapsed", frozenset()), ("selection", 3)):
        with pytest.raises(FrozenInstanceError):
            setattr(model, name, value)
    assert isinstance(model.collapsed, frozenset) and model.state == PlayerState(3, frozenset({1, 2}))
    dark = model.changed(theme="dark", selection=3)
    assert (model.theme, model.selection) == ("light", None)
    assert (dark.theme, dark.selection, dark.graph, dark.collapsed) == (
        "dark", 3, transformer, model.collapsed)
    assert model.differs(dark) == {"theme", "selection"} and not model.differs(model.changed())


def test_every_drawn_key_round_trips_through_its_type(transformer):
    opened = toggled({RUN}, RUN.key)  # the run's blocks, each folded as a module
    keys = set(view(transformer, {RUN}).keys) | set(view(transformer, opened).keys)
    kinds = {type(parse_key(k)) for k in keys}
    assert kinds == {NodeKey, ModuleKey, RunKey}
    for key in keys:
        assert parse_key(key).raw == key
        assert key_of(node_name(key)) == key  # and through its DOT name
    assert parse_key(RUN.key) == RunKey("layers.0..layers.5")
    assert parse_key("module:layers.2") == ModuleKey("layers.2")
    for bad in ("layers.2", True, 2.0, None):
        with pytest.raises(GradvizError, match="not a drawn key"):
            parse_key(bad)


def test_the_folded_view_is_worked_out_once_for_layout_restyle_and_export(transformer,
                                                                          monkeypatch):
    calls = []
    monkeypatch.setattr(viewmodel, "view", lambda g, c: calls.append(c) or view(g, c))
    model = ViewModel(transformer, {RUN})
    placed = layout(model)
    stepped = model.changed(state={"current": RUN.key, "done": set(), "show_grad": None},
                            colouring=Colouring.HEALTH)
    again = restyle(placed, stepped)
    file_bytes(stepped, "dot")
    assert calls == [frozenset({RUN})]
    assert again.nodes[RUN.key].mark == "current" and again.model is stepped
    assert model.changed(collapsed=frozenset()).folded.keys == view(transformer).keys
    assert calls == [frozenset({RUN}), frozenset()]


def test_box_kinds_are_an_enum_equal_to_their_old_strings(transformer):
    placed = layout(ViewModel(transformer, {RUN}))
    kinds = {box.kind for box in placed.nodes.values()}
    assert all(isinstance(k, BoxKind) for k in kinds)
    assert {"leaf", "module", "output"} <= kinds
    assert placed.nodes[RUN.key].kind is BoxKind.MODULE


def test_colourings_beyond_health_are_named_but_not_drawn_yet(transformer):
    assert Colouring.of(None) is Colouring.NONE and Colouring.of("grad_norm") is Colouring.HEALTH
    assert Colouring.of("memory") is Colouring.MEMORY
    with pytest.raises(GradvizError, match="unknown colouring 'flows'"):
        Colouring.of("flows")  # the public spelling accepts only what is drawn
    with pytest.raises(ValueError, match="flows colouring is not drawn yet"):
        layout(ViewModel(transformer, colouring=Colouring.FLOWS))
