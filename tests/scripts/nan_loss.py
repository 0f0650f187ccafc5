"""A classifier whose loss takes the log of a probability that underflowed to 0 (no gradviz).

The logits are scaled far too much, so softmax gives some samples exactly 0 for their class:
the log is -inf, the loss inf, and backward sends NaN to the weights. The script runs through.
"""

import torch
from torch import nn

torch.manual_seed(0)
model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
x = torch.randn(6, 4)
target = torch.tensor([0, 1, 2, 1, 0, 2])

logits = model(x) * 1000.0  # a temperature that should have been a division
probs = torch.softmax(logits, dim=1)
picked = probs[torch.arange(6), target]
loss = -torch.log(picked).mean()
loss.backward()
print("loss", loss.item(), "weight grad finite:", bool(model[0].weight.grad.isfinite().all()))
