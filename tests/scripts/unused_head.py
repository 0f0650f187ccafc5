"""A two-headed model where one head is computed under no_grad and another never used."""

import torch


class TwoHeads(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.body = torch.nn.Linear(3, 4)
        self.main = torch.nn.Linear(4, 1)
        self.aux = torch.nn.Linear(4, 1)
        self.spare = torch.nn.Linear(4, 1)

    def forward(self, x):
        h = torch.relu(self.body(x))
        with torch.no_grad():
            extra = self.aux(h)
        return self.main(h) + extra


torch.manual_seed(0)
model = TwoHeads()
loss = model(torch.randn(5, 3)).pow(2).mean()
loss.backward()
