"""The seed's second program: the linear example as an nn.Module (no gradviz import)."""

import torch
from torch import nn


class Net1Linear(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear1 = nn.Linear(3, 2)

    def forward(self, x):
        return self.linear1(x)


net = Net1Linear()
with torch.no_grad():
    net.linear1.weight.copy_(torch.tensor([[1.3, -1.5, 1.4], [2.3, 0.6, -0.1]]))
    net.linear1.bias.copy_(torch.tensor([0.95, 0.11]))

X = torch.tensor([[1.0, 1.0, 1.0], [0.5, 0.0, 0.0]], requires_grad=True)
Z = net(X)
S = Z.sum()
S.backward()

if __name__ == "__main__":
    print("Z.grad =", Z.grad, "(None: Z is not a leaf)")
    print("X.grad =", X.grad)
