"""One head of scaled dot-product attention with a causal mask and a softmax.

Each position mixes the values of itself and earlier positions with softmax weights, and the
causal mask (-inf above the diagonal) makes those weights exactly zero for later positions,
so no gradient flows from a token to its future. The 1/sqrt(d) scale keeps the softmax from
saturating, which would starve the queries and keys of gradient.
"""

import math

import torch

torch.manual_seed(0)
T, D = 4, 8  # tokens, width

x = torch.randn(T, D)
Wq = (torch.randn(D, D) / math.sqrt(D)).requires_grad_()
Wk = (torch.randn(D, D) / math.sqrt(D)).requires_grad_()
Wv = (torch.randn(D, D) / math.sqrt(D)).requires_grad_()

q = x @ Wq
k = x @ Wk
v = x @ Wv
scores = q @ k.T / math.sqrt(D)
future = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)
masked = scores.masked_fill(future, float("-inf"))
weights = torch.softmax(masked, dim=-1)
out = weights @ v
loss = out.pow(2).mean()
loss.backward()

if __name__ == "__main__":
    print("attention weights (zero above the diagonal):")
    print(weights.detach())
    print(f"loss = {loss.item():.4f}, |dL/dWq| = {Wq.grad.norm():.4f}")
