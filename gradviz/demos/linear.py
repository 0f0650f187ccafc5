"""Why is Z.grad None? The seed example: Z = linear(X, W.t(), B), S = Z.sum().

Z is an intermediate tensor: PyTorch computes its gradient during backward, uses it, and
frees it, so Z.grad stays None. gradviz's hooks catch it: dS/dZ is all ones, and
dS/dX = [[3.6, -0.9, 1.3], [3.6, -0.9, 1.3]], each row the row sums of W.
"""

import torch

X = torch.tensor([[1.0, 1.0, 1.0], [0.5, 0.0, 0.0]], requires_grad=True)
W = torch.tensor([[1.3, 2.3], [-1.5, 0.6], [1.4, -0.1]], requires_grad=True)
B = torch.tensor([0.95, 0.11], requires_grad=True)

Z = torch.nn.functional.linear(X, W.t(), B)
S = Z.sum()
S.backward()

if __name__ == "__main__":
    print("Z =", Z)
    print("Z.grad =", Z.grad, "(None: Z is not a leaf)")
    print("X.grad =", X.grad)
