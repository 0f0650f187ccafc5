"""The inspector spells a node's gradient as the flows its consumers sent."""

import runpy
import sys

import torch

import gradviz
from gradviz.demos import find
from tests.app.conftest import click, draw, out


def accumulate_graph(flows=None):
    """The accumulate demo, traced before its own backward runs."""
    return demo_graph("accumulate", flows)


def demo_graph(name: str, flows=None):
    """The demo ``name``, traced before its own (first) backward runs."""
    original = torch.Tensor.backward
    graphs = []

    def backward(self, *args, **kwargs):
        namespace = sys._getframe(1).f_globals  # the demo's variables name the nodes
        graphs.append(gradviz.trace(self, namespace=namespace, flows=flows))
        return original(self, *args, **kwargs)

    torch.Tensor.backward = backward
    try:
        runpy.run_path(str(find(name).path), run_name="gradviz_demo")
    finally:
        torch.Tensor.backward = original
    return graphs[0]


def test_inspector_spells_the_sum_of_the_flows(qtbot, window):
    graph = accumulate_graph()
    draw(qtbot, window, graph)
    click(qtbot, window.view, graph.find("A").id)
    text = window.inspector.text()
    assert "Gradient flows" in text
    assert "A.grad = " in text and "[4, 5, 6] via C" in text and "[1, 1, 1] via D" in text
    assert "(= [5, 6, 7])" in text
    window.screenshot(out("inspector_flows_A.png"))
    click(qtbot, window.view, graph.find("C").id)
    text = window.inspector.text()
    assert "Sent back to its inputs:\nto A: [4, 5, 6]\nto B: [1, 2, 3]" in text
    window.screenshot(out("inspector_flows_C.png"))


def test_no_flows_section_when_flows_were_not_captured(qtbot, window):
    graph = accumulate_graph(flows=False)
    draw(qtbot, window, graph)
    click(qtbot, window.view, graph.find("A").id)
    assert "Gradient flows" not in window.inspector.text()
