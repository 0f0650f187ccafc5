"""A training loop that notes, at each step's forward, what gradviz has switched on: a
TorchFunctionMode (recording) and global module hooks. argv: steps, the JSON file to write."""

import json
import sys

import torch

torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1))
opt = torch.optim.SGD(model.parameters(), lr=0.1)
data = torch.randn(5, 3)
seen = []
for step in range(int(sys.argv[1])):
    opt.zero_grad()
    seen.append({"modes": len(torch.overrides._get_current_function_mode_stack()),
                 "module_hooks": len(torch.nn.modules.module._global_forward_pre_hooks)})
    prediction = model(data)
    loss = prediction.pow(2).mean()
    loss.backward()
    opt.step()
with open(sys.argv[2], "w") as f:
    json.dump(seen, f)
