"""Two training steps of a model whose branch follows the data (tanh then * 2 when the
batch's mean is positive, sigmoid otherwise): the first step takes one branch, the second
the other. Writes what its own hooks saw to argv[1] (JSON), if given: per step, the norm of
the hidden activation's gradient and value."""

import json
import os
import sys

import torch

torch.manual_seed(int(os.environ.get("RANK", "0")))  # under torchrun, each rank its own
lin = torch.nn.Linear(3, 3)
opt = torch.optim.SGD(lin.parameters(), lr=0.5)
seen = []
for sign in (1.0, -1.0):
    opt.zero_grad()
    x = torch.rand(4, 3) * sign
    hidden = lin(x)
    out = hidden.tanh() * 2 if x.mean() > 0 else hidden.sigmoid()
    loss = out.pow(2).mean()
    step = {"value": hidden.detach().norm().item()}
    hidden.register_hook(lambda g, step=step: step.update(grad=g.norm().item()))
    loss.backward()
    seen.append(step)
    opt.step()
if len(sys.argv) > 1:
    with open(sys.argv[1], "w") as f:
        json.dump(seen, f)
