"""Private torch API is used in gradviz/core/internals.py only, and checked at import."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import gradviz
from gradviz.core import internals

PACKAGE = Path(gradviz.__file__).parent
#: Private attributes of torch's objects (Nodes, tensors, the engine) gradviz has needed.
PRIVATE_NAMES = {"_backward_hooks", "_input_metadata", "_sequence_nr", "_execution_engine",
                 "queue_callback", "_HookMixin", "_current_autograd_node", "_register_hook",
                 "_current_graph_task_id", "_register_hook_dict", "_cdata", "_base", "_version"}
PRIVATE_PREFIXES = ("_saved_", "_raw_saved_")


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def private_torch_uses(source: str) -> list[str]:
    """``line: what`` for each touch of a private torch attribute in ``source``."""
    tree = ast.parse(source)
    torch_names = {"torch"}  # names bound to torch or one of its modules
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            torch_names |= {a.asname or a.name.split(".")[0] for a in node.names
                            if a.name.split(".")[0] == "torch"}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "torch":
            torch_names |= {a.asname or a.name for a in node.names}
    found = []
    for node in ast.walk(tree):
        what = None
        if isinstance(node, ast.Import):
            what = next((a.name for a in node.names if a.name.split(".")[0] == "torch"
                         and any(map(_private, a.name.split(".")))), None)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "torch":
            parts = node.module.split(".") + [a.name for a in node.names]
            what = node.module if any(map(_private, parts)) else None
        elif isinstance(node, ast.Attribute):
            chain, base = [node.attr], node.value
            while isinstance(base, ast.Attribute):
                chain.append(base.attr)
                base = base.value
            rooted = isinstance(base, ast.Name) and base.id in torch_names
            if (node.attr in PRIVATE_NAMES or node.attr.startswith(PRIVATE_PREFIXES)
                    or rooted and _private(node.attr)):
                what = node.attr
        elif isinstance(node, (ast.FunctionDef, ast.Name, ast.arg)):
            name = getattr(node, "name", None) or getattr(node, "id", None) or node.arg
            if name.startswith(PRIVATE_PREFIXES):  # a look-alike reads as private access
                what = name
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if node.value in PRIVATE_NAMES or node.value.startswith(PRIVATE_PREFIXES):
                what = repr(node.value)  # getattr(fn, "_saved_self")
        if what is not None:
            found.append(f"{node.lineno}: {what}")
    return found


def test_no_module_outside_internals_touches_private_torch():
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        # the lecture demos are the user's code, teaching what users see (x._version)
        if path == PACKAGE / "core" / "internals.py" or path.parent.name == "demos":
            continue
        uses = private_torch_uses(path.read_text(encoding="utf-8"))
        if uses:
            found[str(path.relative_to(PACKAGE))] = uses
    assert found == {}


@pytest.mark.parametrize("source", [
    "import torch\nf = torch._C._current_autograd_node",
    "import torch as t\nt.autograd.Variable._execution_engine.queue_callback(cb)",
    "from torch.autograd.function import _HookMixin",
    "import torch._dynamo",
    "from torch._C import _autograd",
    "x = fn._saved_self",
    "x = fn._raw_saved_other.data",
    "x = getattr(fn, '_saved_' + name) or getattr(fn, '_raw_saved_x')",
    "n = fn._sequence_nr()",
    "t._backward_hooks[k] = h",
    "from torch import autograd as ag\nag._functions",
    "def _saved_at(fn):\n    return fn",
])
def test_the_check_sees_each_kind_of_private_access(source):
    assert private_torch_uses(source)


def test_the_check_leaves_public_torch_and_gradvizs_own_names_alone():
    source = ("import torch\nimport os\nd = os.path.dirname(torch.__file__)\n"
              "h = fn.register_prehook(self._hook)\nself._raw[nid] = g.grad_fn.next_functions\n")
    assert private_torch_uses(source) == []


def test_this_torch_supports_every_feature():
    assert internals.MISSING == {}
    assert torch_version() >= internals.FLOOR


def torch_version() -> tuple[int, int]:
    import torch

    major, minor = torch.__version__.split(".")[:2]
    return int(major), int(minor)


CAPTURE_MISSING = """
import warnings
import torch
del torch._C._current_graph_task_id  # as on a torch that predates it
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    import gradviz
print([str(w.message) for w in caught if w.category is gradviz.GradvizWarning])
y = (torch.ones(2, requires_grad=True) * 2).sum()
try:
    gradviz.trace(y)
except gradviz.GradvizError as exc:
    print(type(exc).__name__, exc)
y.backward()
print("backward ok")
"""


def test_a_torch_without_a_capture_api_is_told_at_import_and_trace_refuses_clearly():
    out = subprocess.run([sys.executable, "-c", CAPTURE_MISSING], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    warned, refused, backward = out.stdout.strip().splitlines()
    assert "torch._C._current_graph_task_id (so: capture unavailable)" in warned
    assert refused.startswith(
        "TorchTooOldError gradviz capture needs torch._C._current_graph_task_id")
    assert backward == "backward ok"
