"""Graphs the layout tests draw: the seed's two programs (run unchanged) and a small MLP."""

from pathlib import Path

import pytest
import torch

import gradviz
from gradviz.core.runner import run_script
from gradviz.demos import find

SCRIPTS = Path(__file__).parent.parent / "scripts"


@pytest.fixture
def seed():
    return run_script(find("linear").path).passes[-1]


@pytest.fixture
def net():
    return run_script(SCRIPTS / "net1linear.py").passes[-1]


@pytest.fixture
def mlp():
    """Two hidden layers in a Sequential inside a module: nested module paths."""
    torch.manual_seed(0)

    class Block(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = torch.nn.Linear(4, 4)
            self.act = torch.nn.ReLU()

        def forward(self, x):
            return self.act(self.fc(x))

    model = torch.nn.Sequential(Block(), Block(), torch.nn.Linear(4, 1))
    x = torch.randn(3, 4)
    with gradviz.record():
        loss = model(x).pow(2).mean()
    graph = gradviz.trace(loss)
    loss.backward()
    return graph


@pytest.fixture
def interrupted():
    """20 layers of a ModuleList with a functional relu between them: "layers" is not
    contiguous in the data flow, each "layers.i" is."""

    class Stack(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = torch.nn.ModuleList([torch.nn.Linear(3, 3) for _ in range(20)])

        def forward(self, h):
            for layer in self.layers:
                h = torch.relu(layer(h))
            return h

    stack = Stack()
    with gradviz.record():
        loss = stack(torch.ones(1, 3)).sum()
    return gradviz.trace(loss)
