"""Views and in-place operations, and the version counter that keeps them honest.

A view (a row, a transpose) shares memory with its base; an in-place op on a view rewrites
the base's history, so autograd replaces the base's node with CopySlices. Every in-place op
bumps the tensor's _version; if backward needs a saved tensor whose version changed, it
refuses with an error instead of computing a wrong gradient.
"""

import torch

a = torch.tensor([[0.1, 0.2], [0.3, 0.4]], requires_grad=True)

x = a * 2
version_before = x._version
row = x[0]  # a view of x: same memory
row.mul_(10)  # in place on the view: x's first row changes too
version_after = x._version
xt = x.t()  # another view
y = xt.exp()  # exp saves its output for backward ...
loss = y.sum()  # ... so y.add_(1) here would make backward fail
loss.backward()

if __name__ == "__main__":
    print("x after row.mul_(10):", x.detach())
    print(f"x._version: {version_before} -> {version_after}")
    print("dL/da =", a.grad)
