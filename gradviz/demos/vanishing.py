"""A deep sigmoid stack next to a ReLU stack with residual connections: gradient health.

Both stacks are eight layers deep and start from the same input. Each sigmoid multiplies the
gradient by at most 0.25, so the first layers of the sigmoid stack get almost nothing; the
residual path adds the gradient straight through, so the ReLU stack's first layers get about
as much as its last. Colour the graph by gradient norm to see it.
"""

import torch

torch.manual_seed(0)
DEPTH, WIDTH = 8, 4

x = torch.randn(2, WIDTH)
sigmoid_weights = [torch.randn(WIDTH, WIDTH).requires_grad_() for _ in range(DEPTH)]
residual_weights = [(0.5 * torch.randn(WIDTH, WIDTH)).requires_grad_() for _ in range(DEPTH)]

s = x
for W in sigmoid_weights:
    s = torch.sigmoid(s @ W)
r = x
for W in residual_weights:
    r = r + torch.relu(r @ W)
loss = s.sum() + r.sum()
loss.backward()

if __name__ == "__main__":
    for label, weights in [("sigmoid", sigmoid_weights), ("residual", residual_weights)]:
        norms = " ".join(f"{W.grad.norm():.1e}" for W in weights)
        print(f"{label:8s} layer 1..{DEPTH} grad norms: {norms}")
