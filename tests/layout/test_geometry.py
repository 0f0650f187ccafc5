"""Layout geometry against Graphviz's own numbers, and the invariants every layout keeps."""

import json
import shlex
import subprocess

import pytest

from gradviz.core.collapse import module_key
from gradviz.layout import clusters, layout, restyle, scene_of
from gradviz.layout.dotsource import key_of, to_dot


def plain(dot_text: str) -> tuple[float, dict]:
    """``dot -Tplain``: (graph height, {key: (x, y, w, h)}) in inches, y up, parsed apart
    from gradviz's own parser."""
    out = subprocess.run(["dot", "-Tplain"], input=dot_text, capture_output=True, text=True,
                         check=True).stdout
    nodes, height = {}, None
    for line in out.splitlines():
        words = shlex.split(line)
        if words[0] == "graph":
            height = float(words[3])
        elif words[0] == "node":
            nodes[key_of(words[1])] = tuple(map(float, words[2:6]))
    return height, nodes


def test_positions_are_graphvizs_in_points_with_y_down(mlp):
    placed = layout(mlp, collapsed={"0"})
    height, theirs = plain(to_dot(scene_of(mlp, {"0"}), sized=True))
    assert placed.engine == "dot"
    assert placed.height == pytest.approx(height * 72, abs=0.5)
    assert set(theirs) == set(placed.nodes) and module_key("0") in theirs
    for key, (x, y, w, h) in theirs.items():
        box = placed.nodes[key]
        assert (box.x, box.y) == (pytest.approx(x * 72, abs=0.5),
                                  pytest.approx((height - y) * 72, abs=0.5))
        assert (box.width, box.height) == (pytest.approx(w * 72, abs=0.5),
                                           pytest.approx(h * 72, abs=0.5))


@pytest.mark.parametrize("labels", ["compact", "full", "values"])
def test_boxes_sized_by_us_hold_the_text_as_graphviz_measures_it(seed, mlp, labels):
    for graph in (seed, mlp):
        placed = layout(graph, labels=labels)
        out = subprocess.run(["dot", "-Tjson0"], input=to_dot(scene_of(graph, labels=labels)),
                             capture_output=True, text=True, check=True).stdout
        measured = {key_of(o["name"]): (float(o["width"]), float(o["height"]))
                    for o in json.loads(out)["objects"] if "width" in o}  # dot measured the text
        for key, (w, h) in measured.items():
            box = placed.nodes[key]
            assert box.width >= w * 72 - 0.5 and box.height >= h * 72 - 0.5
            assert box.width <= w * 72 + 8  # and not much wider


def test_edges_end_with_an_arrow_on_their_target(mlp):
    placed = layout(mlp)
    assert placed.edges
    for e in placed.edges:
        base, tip = e.arrow
        target = placed.nodes[e.dst]
        left, top, w, h = target.rect
        assert left - 1 <= tip[0] <= left + w + 1 and top - 1 <= tip[1] <= top + h + 1
        assert e.points[-1] == base and len(e.points) % 3 == 1  # p0 (c1 c2 p)*


def test_clusters_hold_their_members(mlp):
    placed = layout(mlp)
    boxes = {c.path: c for c in placed.clusters}
    assert {"0", "0.fc", "0.act", "1", "2"} <= set(boxes)
    for node in placed.nodes.values():
        if node.cluster:
            c = boxes[node.cluster]
            assert c.x <= node.x <= c.x + c.width and c.y <= node.y <= c.y + c.height
    assert boxes["0.fc"].depth == 1 and boxes["0"].depth == 0


def test_parameters_sit_beside_module_boxes_in_a_picture_of_one_dot_run(mlp, mlp_unrecorded):
    placed = layout(mlp)
    assert {"0", "0.fc", "1"} <= {c.path for c in placed.clusters}
    assert all(n.cluster is None for n in placed.nodes.values() if n.kind == "leaf")
    bare = layout(mlp_unrecorded)  # only its parameters know a module: no box at all
    assert mlp_unrecorded.cols.module[mlp_unrecorded.find("0.fc.weight").id] == "0.fc"
    assert bare.clusters == [] and all(n.cluster is None for n in bare.nodes.values())


def test_in_a_bigger_picture_parameters_go_in_a_box_that_holds_ops(mlp, mlp_unrecorded,
                                                                   monkeypatch):
    monkeypatch.setattr(clusters, "ONE_DOT_RUN_BELOW", 0)
    assert scene_of(mlp).nodes[mlp.find("0.fc.weight").id].cluster == "0.fc"
    assert not scene_of(mlp_unrecorded).clusters


def test_a_recorded_resnet_is_as_narrow_as_its_bare_graph():
    # boxes that held weights drifted sideways, each beside the one before: a staircase
    import contextlib

    import torch

    import gradviz

    class Basic(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1, self.bn1 = torch.nn.Conv2d(4, 4, 3, padding=1), torch.nn.BatchNorm2d(4)
            self.conv2, self.bn2 = torch.nn.Conv2d(4, 4, 3, padding=1), torch.nn.BatchNorm2d(4)

        def forward(self, x):
            return torch.relu(x + self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x))))))

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1),
                              *(torch.nn.Sequential(Basic(), Basic()) for _ in range(3)))
    widths = []
    for recorded in (False, True):
        with gradviz.record() if recorded else contextlib.nullcontext():
            loss = net(torch.randn(1, 3, 8, 8)).sum()
        graph = gradviz.trace(loss)
        placed = layout(graph)
        assert bool(placed.clusters) == recorded
        widths.append(placed.width)
    assert widths[1] <= 1.5 * widths[0]


def test_a_collapsed_module_is_one_node_with_its_op_count(mlp):
    placed = layout(mlp, collapsed={"0"})
    box = placed.nodes[module_key("0")]
    assert box.kind == "module" and box.lines == ["0", "3 ops"]  # Addmm, T, Relu
    assert box.members == 5  # and the two parameters
    assert not any(isinstance(k, int) and mlp.cols.module[k] == "0.fc" for k in placed.nodes)


def test_a_layout_says_which_key_draws_each_node_and_restyle_keeps_it(mlp):
    placed = layout(mlp, collapsed={"0"})
    weight = mlp.find("0.fc.weight").id
    assert placed.key_of[weight] == module_key("0") and module_key("0") in placed.nodes
    assert all(key in placed.nodes for key in placed.key_of) and len(placed.key_of) == len(mlp)
    assert restyle(placed, mlp, state={"current": weight}).key_of == placed.key_of


def test_restyle_moves_nothing_and_marks_the_player_state(seed):
    placed = layout(seed, labels="values")
    S, Z, X = (seed.find(v).id for v in "SZX")
    again = restyle(placed, seed, state={"current": Z, "done": {S}, "show_grad": {S, Z}})
    for key, box in placed.nodes.items():
        moved = again.nodes[key]
        assert (moved.x, moved.y, moved.width, moved.height) == (box.x, box.y, box.width,
                                                                 box.height)
    assert again.nodes[Z].mark == "current" and again.nodes[S].mark == "done"
    assert again.nodes[X].mark is None
    assert "grad [[1, 1], [1, 1]]" in again.nodes[Z].lines
    assert "grad ?" in again.nodes[X].lines and "grad ?" not in placed.nodes[X].lines
    carrying = [e for e in again.edges if e.mark == "current"]
    assert carrying and all(e.dst == Z for e in carrying)


def test_restyle_keeps_the_colouring_and_theme_unless_told(seed):
    placed = layout(seed, color_by="grad_norm", theme="dark")
    again = restyle(placed, seed, state={"current": seed.find("Z").id})
    assert (again.color_by, again.theme, again.legend) == ("grad_norm", "dark", placed.legend)
    plain = restyle(placed, seed, color_by=None, theme="light")
    assert plain.legend == [] and plain.background == "#ffffff"


def test_a_module_interrupted_by_outside_work_gets_no_box_and_edges_still_point_down():
    import torch

    import gradviz

    class Loop(torch.nn.Module):  # one cell called three times, a tanh outside in between
        def __init__(self):
            super().__init__()
            self.cell = torch.nn.Linear(3, 3)

        def forward(self, h):
            for _ in range(3):
                h = torch.tanh(self.cell(h)) * 0.5
            return h

    model = Loop()
    with gradviz.record():
        loss = model(torch.ones(1, 3)).sum()
    graph = gradviz.trace(loss)
    placed = layout(graph)
    assert "cell" not in {c.path for c in placed.clusters}
    for e in placed.edges:
        assert placed.nodes[e.src].y < placed.nodes[e.dst].y
