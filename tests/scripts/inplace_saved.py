"""A squashing layer written in place: sigmoid saves its output, then mul_ scales it."""

import torch

torch.manual_seed(0)
layer = torch.nn.Linear(4, 4)
x = torch.randn(8, 4)

hidden = torch.sigmoid(layer(x))
hidden.mul_(2)
loss = hidden.pow(2).mean()
loss.backward()
