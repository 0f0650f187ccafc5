"""Graphs the layout tests draw: the seed's two programs (run unchanged) and a small MLP."""

import contextlib
from pathlib import Path

import pytest
import torch

import gradviz
from gradviz.core.runner import run_script
from gradviz.demos import find
from tests.recorded import traced

SCRIPTS = Path(__file__).parent.parent / "scripts"


@pytest.fixture
def seed():
    return run_script(find("linear").path).passes[-1]


@pytest.fixture
def net():
    return run_script(SCRIPTS / "net1linear.py").passes[-1]


def _mlp_graph(recorded: bool):
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
    with gradviz.record() if recorded else contextlib.nullcontext():
        loss = model(x).pow(2).mean()
    graph = gradviz.trace(loss)
    loss.backward()
    return graph


@pytest.fixture
def mlp():
    return _mlp_graph(recorded=True)


@pytest.fixture
def mlp_unrecorded():
    """The same MLP traced without ``gradviz.record()``: only its parameters know a module."""
    return _mlp_graph(recorded=False)


@pytest.fixture
def residual():
    """Residual adds and a GELU in the parent's forward, between the children of a
    ModuleList (as torchvision, timm and Hugging Face models do): glue owned by the root."""

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.blocks = torch.nn.ModuleList([torch.nn.Linear(3, 3) for _ in range(10)])
            self.head = torch.nn.Linear(3, 1)

        def forward(self, x):
            for block in self.blocks:
                x = x + torch.nn.functional.gelu(block(x))
            return self.head(x)

    return traced(Net(), torch.ones(2, 3))


@pytest.fixture
def alternating():
    """Two ModuleLists called in turn: what lies between the nodes of ``a`` is ``b``'s work,
    so neither can be folded without lying (nor without a cycle)."""

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.a = torch.nn.ModuleList([torch.nn.Linear(3, 3) for _ in range(10)])
            self.b = torch.nn.ModuleList([torch.nn.Linear(3, 3) for _ in range(10)])

        def forward(self, h):
            for a, b in zip(self.a, self.b):
                h = b(torch.relu(a(h)))
            return h

    return traced(Net(), torch.ones(1, 3))


@pytest.fixture
def shared_glue():
    """Two modules, each called twice, whose calls meet in one root op: each alone folds by
    taking that op in, both together cannot be drawn without a cycle."""

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.p, self.q = torch.nn.Linear(3, 3), torch.nn.Linear(3, 3)

        def forward(self, x):
            g = self.p(x) + self.q(x)
            return self.p(g) * self.q(g)

    return traced(Net(), torch.ones(1, 3))


@pytest.fixture
def stacked():
    """Thirteen identical pre-norm residual blocks in a ModuleList, as in a transformer."""

    class Block(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.ln, self.fc = torch.nn.LayerNorm(4), torch.nn.Linear(4, 4)

        def forward(self, x):
            return x + self.fc(torch.nn.functional.gelu(self.ln(x)))

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.blocks = torch.nn.ModuleList([Block() for _ in range(13)])
            self.head = torch.nn.Linear(4, 1)

        def forward(self, x):
            for block in self.blocks:
                x = block(x)
            return self.head(x)

    torch.manual_seed(0)
    return traced(Net(), torch.randn(2, 4, requires_grad=True))
