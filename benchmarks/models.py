"""Graphs of a chosen size for the benchmarks: a GPT-like transformer and an MLP.

Both are built here (no downloads) and sized by the number of autograd nodes they make,
so every benchmark measures the same graphs. ``build(kind, nodes, width)`` returns a
``forward()`` that makes a fresh graph and returns its loss. Models over ``SHARE_ABOVE``
layers reuse one block's weights (ALBERT-style): the graph is as large as an unshared
model's, but 100,000 nodes at width 256 would otherwise need gigabytes of parameters.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

SHARE_ABOVE = 64  # layers


class Block(nn.Module):
    """Pre-norm transformer block: causal self-attention and a GELU MLP, with residuals."""

    def __init__(self, width: int, heads: int):
        super().__init__()
        self.heads = heads
        self.ln1, self.ln2 = nn.LayerNorm(width), nn.LayerNorm(width)
        self.qkv, self.proj = nn.Linear(width, 3 * width), nn.Linear(width, width)
        self.fc, self.out = nn.Linear(width, 4 * width), nn.Linear(4 * width, width)

    def forward(self, x):
        b, t, c = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(c, dim=-1)
        q, k, v = (z.view(b, t, self.heads, c // self.heads).transpose(1, 2) for z in (q, k, v))
        att = (q @ k.transpose(-2, -1)) / (c // self.heads) ** 0.5
        mask = torch.ones(t, t, dtype=torch.bool, device=x.device).triu(1)
        att = att.masked_fill(mask, float("-inf")).softmax(-1)
        x = x + self.proj((att @ v).transpose(1, 2).reshape(b, t, c))
        return x + self.out(F.gelu(self.fc(self.ln2(x))))


class GPT(nn.Module):
    def __init__(self, layers: int, width: int, vocab: int = 64):
        super().__init__()
        heads = max(1, width // 64)
        self.embed = nn.Embedding(vocab, width)
        shared = Block(width, heads) if layers > SHARE_ABOVE else None
        self.blocks = nn.ModuleList([shared or Block(width, heads) for _ in range(layers)])
        self.ln = nn.LayerNorm(width)
        self.head = nn.Linear(width, vocab)

    def forward(self, tokens):
        x = self.embed(tokens)
        for block in self.blocks:
            x = block(x)
        return self.head(self.ln(x))


class MLP(nn.Module):
    def __init__(self, layers: int, width: int):
        super().__init__()
        shared = nn.Linear(width, width) if layers > SHARE_ABOVE else None
        self.layers = nn.ModuleList([shared or nn.Linear(width, width) for _ in range(layers)])
        self.head = nn.Linear(width, 1)

    def forward(self, x):
        for layer in self.layers:
            x = F.relu(layer(x))
        return self.head(x)


# autograd nodes per layer (unshared, shared weights), measured once: picks the layer count
NODES_PER_LAYER = {"gpt": (57, 45), "mlp": (5, 3)}


def _layers(kind: str, nodes: int) -> int:
    unshared, shared = NODES_PER_LAYER[kind]
    layers = max(1, round(nodes / unshared))
    return layers if layers <= SHARE_ABOVE else round(nodes / shared)


def build(kind: str, nodes: int, width: int, batch: int = 2, seq: int = 16):
    """``forward()`` -> loss over a fresh graph of about ``nodes`` autograd nodes."""
    torch.manual_seed(0)
    layers = _layers(kind, nodes)
    if kind == "gpt":
        model = GPT(layers, width)
        tokens = torch.randint(0, 64, (batch, seq))
        return model, lambda: F.cross_entropy(model(tokens).flatten(0, 1), tokens.flatten())
    model = MLP(layers, width)
    x = torch.randn(batch * seq, width)
    return model, lambda: model(x).pow(2).mean()


def count_nodes(loss: torch.Tensor) -> int:
    """The bare ``grad_fn`` walk: the baseline every capture figure is compared with."""
    seen = {loss.grad_fn}
    stack = [loss.grad_fn]
    while stack:
        for nxt, _ in stack.pop().next_functions:
            if nxt is not None and nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return len(seen)
