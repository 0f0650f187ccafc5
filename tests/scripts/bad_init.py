"""A deep ReLU MLP initialised with weights far too large: the gradient grows at every layer
on its way back (no gradviz)."""

import torch
from torch import nn

torch.manual_seed(0)
model = nn.Sequential(*[m for _ in range(6) for m in (nn.Linear(32, 32), nn.ReLU())],
                      nn.Linear(32, 1))
with torch.no_grad():
    for layer in model:
        if isinstance(layer, nn.Linear):
            layer.weight.normal_(0.0, 1.0)  # std 1 where Kaiming would give 0.25

x = torch.randn(64, 32)
loss = model(x).mean()
loss.backward()
print("first layer grad norm", model[0].weight.grad.norm().item())
