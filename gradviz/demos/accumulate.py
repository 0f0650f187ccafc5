"""A tensor used twice: the gradients from both uses add up.

A is consumed by two branches, C = A * B and D = A + B. In backward, each branch sends its
own gradient back to A and autograd sums them, so dL/dA = B + 1 (summing is also why .grad
accumulates across backward calls). Click A: the inspector's "Gradient flows" spells the
sum, [4, 5, 6] sent back by C (that is B) plus [1, 1, 1] sent back by D, the two shares that
flow(A, C) and flows_into(A) return.
"""

import torch

A = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
B = torch.tensor([4.0, 5.0, 6.0], requires_grad=True)

C = A * B
D = A + B
E = C + D
L = E.sum()
L.backward()

if __name__ == "__main__":
    print("dL/dA =", A.grad, "= B + 1: one share from C = A * B, one from D = A + B")
    print("dL/dB =", B.grad, "= A + 1")
