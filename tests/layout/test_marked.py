"""The nodes a diagnosis points at are a field of the view model, drawn by the scene: marked
in the theme's colour on their own box, or on the folded module box that holds them."""

from gradviz.core.keys import module_key
from gradviz.core.viewmodel import ViewModel
from gradviz.layout import layout, restyle
from gradviz.layout.style import THEMES


def test_marked_nodes_are_drawn_on_their_boxes_and_restyling_moves_nothing(mlp):
    relu = next(n.id for n in mlp if n.op == "ReluBackward0" and n.module == "1.act")
    leaf = mlp.find("2.weight").id
    plain = layout(ViewModel(mlp))
    assert not any(b.mark for b in plain.nodes.values())
    for theme in ("light", "dark"):
        marked = restyle(plain, ViewModel(mlp, theme=theme, marked={relu, leaf}))
        drawn = {k for k, b in marked.nodes.items() if b.mark == "marked"}
        assert drawn == {relu, leaf}
        assert {marked.nodes[k].border for k in drawn} == {THEMES[theme].marked}
        assert all(b.rect == plain.nodes[k].rect for k, b in marked.nodes.items())


def test_a_marked_node_inside_a_folded_module_marks_the_module_box(mlp):
    relu = next(n.id for n in mlp if n.op == "ReluBackward0" and n.module == "1.act")
    folded = layout(ViewModel(mlp, collapsed={"1"}, marked={relu}))
    assert [k for k, b in folded.nodes.items() if b.mark == "marked"] == [module_key("1")]
