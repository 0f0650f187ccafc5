"""Shared test set-up: Qt offscreen, and the seed example every layer is checked against."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402
import torch  # noqa: E402

from tests.recorded import traced  # noqa: E402


def pytest_addoption(parser):
    parser.addoption("--update-golden", action="store_true",
                     help="rewrite the golden files in tests/golden/ instead of comparing")


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

    return traced(Stack(), torch.ones(1, 3))
