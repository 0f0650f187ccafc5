"""The log of a probability that underflowed to 0: where NaN and Inf come from.

Logits scaled far too much make softmax give some samples exactly 0 for their class, so log
makes -inf and the loss is inf. Backward turns that into NaN gradients for the weights, and
one optimizer step ruins the model. Take torch.log_softmax (or use cross_entropy), which never
takes the log of an underflowed 0.
"""

import torch

torch.manual_seed(0)
w = torch.randn(3, 3, requires_grad=True)
x = torch.randn(4, 3)
target = torch.tensor([0, 1, 2, 1])

logits = x @ w * 100.0  # a temperature that should have been a division
probs = torch.softmax(logits, dim=1)
picked = probs[torch.arange(4), target]
loss = -torch.log(picked).mean()  # log(0) = -inf
loss.backward()

if __name__ == "__main__":
    print("loss:", loss.item())
    print("dL/dw:", w.grad)
