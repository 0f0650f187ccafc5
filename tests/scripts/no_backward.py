"""Computes a loss but never differentiates it."""

import torch

x = torch.ones(3, requires_grad=True)
loss = (x * 2).sum()
print(loss.item())
