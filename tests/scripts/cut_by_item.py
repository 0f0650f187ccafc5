"""A loss rebuilt from a Python number: the model's output goes through .item()."""

import torch

torch.manual_seed(0)
model = torch.nn.Linear(3, 1)
x, target = torch.randn(4, 3), torch.randn(4, 1)

error = (model(x) - target).pow(2).mean().item()
loss = torch.tensor(error)
loss.backward()
