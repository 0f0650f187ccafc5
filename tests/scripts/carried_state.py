"""A recurrent model trained step by step, its hidden state carried over without detach."""

import torch

torch.manual_seed(0)
cell = torch.nn.RNNCell(3, 5)
head = torch.nn.Linear(5, 1)
opt = torch.optim.SGD([*cell.parameters(), *head.parameters()], lr=0.1)
h = torch.zeros(2, 5)
for step in range(3):
    x = torch.randn(2, 3)
    h = cell(x, h)
    loss = head(h).pow(2).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
