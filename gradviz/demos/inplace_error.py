"""An in-place op on a tensor that backward needs: the version counter refuses.

sigmoid saves its output y, because its derivative is y * (1 - y). y.mul_(2) then overwrites
y and bumps its version from 0 to 1, so backward stops with "modified by an inplace operation"
instead of using the wrong y. Write y = y * 2 (a new tensor), or take y.clone() first.
"""

import torch

torch.manual_seed(0)
layer = torch.nn.Linear(3, 2)
x = torch.randn(4, 3)

y = torch.sigmoid(layer(x))  # sigmoid saves y for its backward
y.mul_(2)  # in place: y is now at version 1
loss = y.sum()
loss.backward()  # RuntimeError: ... modified by an inplace operation
