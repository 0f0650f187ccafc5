"""A small recurrent cell unrolled over four steps: one set of weights, gradients from every step.

The same Wx and Wh are used at each time step, so in the graph they feed four places and
backward adds up four contributions, one per step. Gradients reaching the first step pass
through every later tanh, which is where recurrent nets lose or blow up their gradients.
"""

import torch

torch.manual_seed(0)
STEPS, IN, HID = 4, 3, 5

xs = torch.randn(STEPS, 1, IN)  # a batch of one sequence
Wx = (0.5 * torch.randn(IN, HID)).requires_grad_()
Wh = (0.5 * torch.randn(HID, HID)).requires_grad_()
bh = torch.zeros(HID, requires_grad=True)

h = torch.zeros(1, HID)
states = []
for t in range(STEPS):
    h = torch.tanh(xs[t] @ Wx + h @ Wh + bh)
    states.append(h)
loss = h.pow(2).sum()
loss.backward()

if __name__ == "__main__":
    print(f"loss = {loss.item():.4f}")
    print("|dL/dWx| =", f"{Wx.grad.norm():.4f}", " |dL/dWh| =", f"{Wh.grad.norm():.4f}")
