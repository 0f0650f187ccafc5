"""Independent answers for the diagnosis tests, computed with torch's own hooks and modes."""

from __future__ import annotations

import os
import runpy
import sys
import warnings

import torch
from torch.overrides import TorchFunctionMode


def _finite(t: torch.Tensor) -> bool:
    return bool(torch.isfinite(t.detach()).all())


def _tensors(obj):
    """The tensors in a call's arguments, nested lists, tuples and dicts included."""
    if isinstance(obj, torch.Tensor):
        yield obj
    elif isinstance(obj, (list, tuple)):
        for item in obj:
            yield from _tensors(item)
    elif isinstance(obj, dict):
        for item in obj.values():
            yield from _tensors(item)


class NonFinite(TorchFunctionMode):
    """Watches every torch call a script makes: the first output that is not finite from
    finite inputs (its grad_fn and the script's line), and, through a hook on every output,
    the first gradient backward computes that is not finite (that output's grad_fn)."""

    def __init__(self, script=None):
        super().__init__()
        self.script = os.path.abspath(script) if script else None
        self.made = None  # (grad_fn, "script.py:line")
        self.reached = []  # (grad_fn, gradient finite), in the order backward computed them

    def _line(self) -> str | None:
        frame = sys._getframe(2)
        while frame is not None and self.script and frame.f_code.co_filename != self.script:
            frame = frame.f_back
        return f"{os.path.basename(frame.f_code.co_filename)}:{frame.f_lineno}" if frame else None

    def __torch_function__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        if isinstance(out, torch.Tensor) and out.grad_fn is not None:
            inputs = list(_tensors((args, kwargs or {})))
            if self.made is None and not _finite(out) and all(map(_finite, inputs)):
                self.made = (out.grad_fn, self._line())
            fn = out.grad_fn
            out.register_hook(lambda g, fn=fn: self.reached.append((fn, _finite(g))))
        return out

    @property
    def first_bad_grad(self):
        return next((fn for fn, ok in self.reached if not ok), None)


def output_grad_norms(script) -> list[tuple[str, float]]:
    """(module path, norm of the gradient w.r.t. its output) for every module without
    children, in the order the forward pass first called them, from a plain run of
    ``script`` (its model is the variable ``model``) with full backward hooks."""
    order, norms = [], {}

    def pre(module, args):
        if not any(module.children()) and module not in order:
            order.append(module)

    def back(module, grad_input, grad_output):
        if not any(module.children()):
            norms[module] = grad_output[0].norm().item()

    hooks = torch.nn.modules.module
    handles = [hooks.register_module_forward_pre_hook(pre),
               hooks.register_module_full_backward_hook(back)]
    try:
        with warnings.catch_warnings():  # "firing ... since no inputs require gradients": meant
            warnings.simplefilter("ignore", UserWarning)
            namespace = runpy.run_path(str(script), run_name="__main__")
    finally:
        for h in handles:
            h.remove()
    names = {m: n for n, m in namespace["model"].named_modules()}
    return [(names[m], norms[m]) for m in order]
