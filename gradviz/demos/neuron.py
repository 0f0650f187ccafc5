"""One neuron, tanh(x1*w1 + x2*w2 + b), on plain scalars: small enough to check by hand.

Every node holds one number, so each gradient can be worked out on the blackboard with the
chain rule: dO/dN = 1 - tanh(N)^2 = 0.5, and then dO/dw1 = x1 * 0.5 = 1.0. Step through the
backward pass and watch each multiplication hand the gradient on, scaled by the other input:
click x1w1 and the inspector's "Gradient flows" lists what it sent back, -1.5 to x1 (0.5 times
w1) and 1.0 to w1 (0.5 times x1).
"""

import math

import torch

x1 = torch.tensor(2.0, requires_grad=True)
x2 = torch.tensor(0.0, requires_grad=True)
w1 = torch.tensor(-3.0, requires_grad=True)
w2 = torch.tensor(1.0, requires_grad=True)
# b makes N = atanh(1/sqrt(2)), so O = 0.7071 and dO/dN = 1 - O^2 = 0.5 exactly
b = torch.tensor(6.0 + 0.5 * math.log(3 + 2 * math.sqrt(2)), requires_grad=True)

x1w1 = x1 * w1
x2w2 = x2 * w2
x1w1x2w2 = x1w1 + x2w2
N = x1w1x2w2 + b
O = torch.tanh(N)
O.backward()

if __name__ == "__main__":
    print(f"O = {O.item():.4f}")
    for name, t in [("x1", x1), ("w1", w1), ("x2", x2), ("w2", w2), ("b", b)]:
        print(f"dO/d{name} = {t.grad.item():.4f}")
