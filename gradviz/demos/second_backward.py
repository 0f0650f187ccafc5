"""Hidden state carried from step to step without detach: backward through a freed graph.

Each step's h reaches back into the previous step's graph, whose saved tensors that step's
backward already freed. So the second backward fails with "Trying to backward through the
graph a second time". Detach the state between steps (h = h.detach()), or pass
retain_graph=True when backpropagating through every step is meant.
"""

import torch

torch.manual_seed(0)
cell = torch.nn.RNNCell(2, 3)
h = torch.zeros(1, 3)
for step in range(2):
    x = torch.randn(1, 2)
    h = cell(x, h)  # the new h keeps the previous step's graph behind it
    loss = h.pow(2).sum()
    loss.backward()  # step 1 reaches into step 0's graph, freed by step 0's backward
