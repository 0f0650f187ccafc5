"""A custom torch.autograd.Function: autograd sees one node and trusts the backward you wrote.

RoundSTE rounds in forward but passes the gradient straight through in backward (the
"straight-through estimator" used for quantisation), although rounding has zero derivative
almost everywhere. Autograd records the whole forward as a single RoundSTEBackward node, never
looks inside it, and runs your backward as written.
"""

import torch

torch.manual_seed(0)


class RoundSTE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return torch.round(x)

    @staticmethod
    def backward(ctx, grad_output):
        return grad_output  # straight through: pretend round() were the identity


x = torch.randn(6)
w = torch.randn(6, requires_grad=True)

scaled = x * w
q = RoundSTE.apply(scaled)
loss = (q - 0.5).pow(2).sum()
loss.backward()

if __name__ == "__main__":
    print("scaled =", scaled.detach())
    print("q      =", q.detach())
    print("dL/dw  =", w.grad, "(nonzero although round() is flat)")
