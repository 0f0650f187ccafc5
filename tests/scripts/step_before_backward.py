"""Two losses from one forward, the optimizer stepping between their backward calls."""

import torch

torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1))
opt = torch.optim.SGD(model.parameters(), lr=0.1)
out = model(torch.randn(6, 3))
first = out.mean()
second = out.pow(2).mean()
first.backward(retain_graph=True)
opt.step()
second.backward()
