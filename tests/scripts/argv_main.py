"""Checks that it runs as `python argv_main.py ARGS` would run it."""

import sys

import torch

import helper_mod

assert __name__ == "__main__", __name__
factor = float(sys.argv[1])
x = torch.tensor([1.0, 2.0], requires_grad=True)
hidden = x * factor * helper_mod.SCALE
loss = hidden.sum()
loss.backward()
