"""Causal self-attention as tutorials write it: future positions masked with -inf before the
softmax, which turns them into 0. Nothing is wrong (no gradviz)."""

import torch

torch.manual_seed(0)
q = torch.randn(4, 8, requires_grad=True)
k = torch.randn(4, 8, requires_grad=True)
scores = q @ k.T / 8 ** 0.5
future = torch.triu(torch.ones(4, 4, dtype=torch.bool), diagonal=1)
scores = scores.masked_fill(future, float("-inf"))
weights = torch.softmax(scores, dim=-1)
loss = weights.sum(dim=0).pow(2).sum()
loss.backward()
