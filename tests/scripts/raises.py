"""A script that fails inside its own function, after a backward pass."""

import torch


def broken(t):
    return t @ torch.ones(5, 5)  # shapes do not match


x = torch.ones(2, 3, requires_grad=True)
x.sum().backward()
broken(x)
