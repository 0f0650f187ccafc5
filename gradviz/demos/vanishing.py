"""A deep sigmoid stack next to a ReLU stack with residual connections: gradient health.

Both stacks are eight layers deep and read the same input. Each sigmoid multiplies the
gradient by at most 0.25, so the first layers of the sigmoid stack get almost nothing; the
residual path adds the gradient straight through, so the ReLU stack's first layers get about
as much as its last. Colour the graph by gradient norm to see it.
"""

import torch
from torch import nn

torch.manual_seed(0)
DEPTH, WIDTH = 8, 4


class Residual(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(WIDTH, WIDTH)

    def forward(self, x):
        return x + torch.relu(self.linear(x))


class TwoStacks(nn.Module):
    def __init__(self):
        super().__init__()
        self.sigmoid = nn.Sequential(*(nn.Sequential(nn.Linear(WIDTH, WIDTH), nn.Sigmoid())
                                       for _ in range(DEPTH)))
        self.residual = nn.Sequential(*(Residual() for _ in range(DEPTH)))

    def forward(self, x):
        return self.sigmoid(x).sum() + self.residual(x).sum()


model = TwoStacks()
x = torch.randn(2, WIDTH)
loss = model(x)
loss.backward()

if __name__ == "__main__":
    for label, layers in [("sigmoid", [block[0] for block in model.sigmoid]),
                          ("residual", [block.linear for block in model.residual])]:
        norms = " ".join(f"{layer.weight.grad.norm():.1e}" for layer in layers)
        print(f"{label:8s} layer 1..{DEPTH} weight grad norms: {norms}")
