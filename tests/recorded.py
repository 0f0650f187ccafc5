"""A model's forward recorded and traced: what most graph fixtures need."""

import torch

import gradviz


def traced(model: torch.nn.Module, x: torch.Tensor):
    """The GradGraph of ``model(x).sum()``, recorded (modules, values, sources) and armed."""
    with gradviz.record():
        loss = model(x).sum()
    return gradviz.trace(loss)
