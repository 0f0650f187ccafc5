"""A small CNN block: convolution, BatchNorm, ReLU, a residual add, pooling and a classifier.

The residual add gives the input two ways back: through the convolutions and straight along
the skip path, and backward sums both. BatchNorm couples the samples of the batch, so each
sample's gradient depends on the others. Pooling passes the gradient only to the positions
that the max chose.
"""

import torch
from torch import nn

torch.manual_seed(0)


class ResidualCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(1, 4, 3, padding=1)
        self.conv = nn.Conv2d(4, 4, 3, padding=1, bias=False)  # BatchNorm brings its own
        self.bn = nn.BatchNorm2d(4)
        self.relu = nn.ReLU()
        self.pool = nn.MaxPool2d(2)
        self.head = nn.Linear(4 * 4 * 4, 2)

    def forward(self, x):
        h = self.relu(self.stem(x))
        r = self.relu(self.bn(self.conv(h)) + h)  # the residual add
        return self.head(self.pool(r).flatten(1))


model = ResidualCNN()
images = torch.randn(2, 1, 8, 8)
labels = torch.tensor([0, 1])

logits = model(images)
loss = nn.functional.cross_entropy(logits, labels)
loss.backward()

if __name__ == "__main__":
    print(f"loss = {loss.item():.4f}")
    for name, p in model.named_parameters():
        print(f"{name:12s} grad norm {p.grad.norm():.4f}")
