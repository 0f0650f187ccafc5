"""Two outputs, each differentiated its own way: .backward() and torch.autograd.grad."""

import torch

a = torch.tensor([1.0, 2.0], requires_grad=True)
squares = a * a
first = squares.sum()
first.backward(retain_graph=True)
cubes = squares * a
second = cubes.sum()
(da,) = torch.autograd.grad(second, a)
