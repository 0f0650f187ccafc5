"""A training loop that goes on until it is stopped (or argv[1] steps), printing as it goes.

argv: [steps] [out.json] [nan_step]. With out.json, each step's loss, the global norm of the
parameters' gradients and fc1.weight's gradient norm, taken by the script's own hooks, are
written there as the loop goes (and once more in ``finally``, which a Stop must reach).
At step nan_step (0-based) one input is NaN, so that pass's gradients are NaN.
"""

import json
import sys

import torch

steps = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
out = sys.argv[2] if len(sys.argv) > 2 and sys.argv[2] != "-" else None
nan_step = int(sys.argv[3]) if len(sys.argv) > 3 else None
torch.manual_seed(0)


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1, self.fc2 = torch.nn.Linear(4, 8), torch.nn.Linear(8, 1)

    def forward(self, x):
        return self.fc2(torch.tanh(self.fc1(x)))


model = Net()
opt = torch.optim.SGD(model.parameters(), lr=0.05)
data, target = torch.randn(16, 4), torch.randn(16, 1)
seen = {"loss": [], "global": [], "fc1": [], "finally": False}
model.fc1.weight.register_hook(lambda g: seen["fc1"].append(g.norm().item()))


def dump():
    if out:
        with open(out, "w") as f:
            json.dump(seen, f)


try:
    for step in range(steps):
        opt.zero_grad()
        x = data.clone()
        if step == nan_step:
            x[0, 0] = float("nan")
        loss = torch.nn.functional.mse_loss(model(x), target)
        loss.backward()
        seen["loss"].append(loss.item())
        seen["global"].append(torch.linalg.vector_norm(
            torch.stack([p.grad.norm() for p in model.parameters()])).item())
        if step != nan_step:  # a NaN step would poison the parameters for good
            opt.step()
        print(f"step {step} loss {loss.item():.4f}")
        if step % 50 == 0:
            print(f"checkpoint at step {step}", file=sys.stderr)
            dump()
finally:
    seen["finally"] = True
    dump()
