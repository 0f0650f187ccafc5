"""A two-layer MLP with a cross-entropy loss; parameters appear under their module names.

The forward pass runs fc1 -> ReLU -> fc2 -> loss, and backward visits the same modules in
reverse: the loss gradient reaches fc2 first, then passes through ReLU (zero where the unit
was off) into fc1. Each parameter shows up as fc1.weight, fc2.bias and so on, as in model
code, and its gradient is what an optimizer step would use. Click an addmm node: the
inspector's "Gradient flows" lists what it sent back to its weight, its bias and its input.
"""

import torch
from torch import nn

torch.manual_seed(0)


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(4, 8)
        self.act = nn.ReLU()
        self.fc2 = nn.Linear(8, 3)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


model = MLP()
x = torch.randn(5, 4)
target = torch.tensor([0, 2, 1, 0, 2])

logits = model(x)
loss = nn.functional.cross_entropy(logits, target)
loss.backward()

if __name__ == "__main__":
    print(f"loss = {loss.item():.4f}")
    for name, p in model.named_parameters():
        print(f"{name:10s} grad norm {p.grad.norm():.4f}")
