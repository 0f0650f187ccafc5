"""A small training loop: one backward pass per step, the step count from argv."""

import sys

import torch

torch.manual_seed(0)
model = torch.nn.Linear(2, 1)
opt = torch.optim.SGD(model.parameters(), lr=0.1)
data = torch.randn(8, 2)
for step in range(int(sys.argv[1]) if len(sys.argv) > 1 else 3):
    opt.zero_grad()
    prediction = model(data)
    loss = prediction.pow(2).mean()
    loss.backward()
    opt.step()
