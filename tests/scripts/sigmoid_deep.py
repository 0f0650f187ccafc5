"""A deep MLP with sigmoid activations: the gradient shrinks at every layer (no gradviz)."""

import torch
from torch import nn

torch.manual_seed(0)


class MLP(nn.Module):
    def __init__(self, width=16, depth=8):
        super().__init__()
        blocks = []
        for _ in range(depth):
            blocks += [nn.Linear(width, width), nn.Sigmoid()]
        self.layers = nn.Sequential(*blocks)
        self.head = nn.Linear(width, 1)

    def forward(self, x):
        return self.head(self.layers(x))


model = MLP()
x = torch.randn(32, 16)
y = torch.randn(32, 1)
loss = ((model(x) - y) ** 2).mean()
loss.backward()
print("first layer grad norm", model.layers[0].weight.grad.norm().item())
