"""Parameters that get no gradient: a .detach() on the way to the loss, a head never used.

The head reads encoder(x).detach(), a tensor with no graph behind it, so backward never
reaches the encoder; the spare head is not used at all. Nothing raises, but their .grad stays
None, the optimizer skips them and DistributedDataParallel stops on them. Cut the loss itself
off (a .item() round trip) and backward raises "element 0 of tensors does not require grad".
"""

import torch
from torch import nn

torch.manual_seed(0)


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Linear(3, 4)
        self.head = nn.Linear(4, 1)
        self.spare = nn.Linear(4, 1)  # a second head, never called

    def forward(self, x):
        features = self.encoder(x).detach()  # cuts the encoder off the graph
        return self.head(torch.relu(features))


model = Model()
x, target = torch.randn(4, 3), torch.randn(4, 1)
loss = (model(x) - target).pow(2).mean()
loss.backward()

if __name__ == "__main__":
    for name, p in model.named_parameters():
        print(f"{name:14s} .grad:", "None" if p.grad is None else f"norm {p.grad.norm():.3f}")
