"""Lecture demos: plain scripts that also run with ``python``; each teaches one idea.

``catalog()`` lists them in teaching order with a one-line summary taken from the
first line of each script's docstring. The demos of autograd's classic failures name in
:data:`FAILURES` the diagnosis they are about, so that a test holds gradviz to finding it and
``gradviz demo`` counts showing it as success (some of them raise in backward on purpose).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).parent
#: Teaching order. A demo is the file ``<name>.py`` in this folder.
ORDER = ["linear", "neuron", "accumulate", "mlp", "cnn", "attention", "rnn", "custom_function",
         "inplace_and_views", "inplace_error", "second_backward", "cut_chain", "nan_origin",
         "vanishing"]
#: Demo -> the :class:`~gradviz.core.diagnosis.Finding` kind it teaches.
FAILURES = {"inplace_error": "inplace", "second_backward": "backward_twice",
            "cut_chain": "unused_parameters", "nan_origin": "nonfinite",
            "vanishing": "gradient_scale"}


@dataclass(frozen=True)
class Demo:
    name: str
    path: Path
    summary: str  # first line of the docstring
    teaching_point: str  # the rest of the docstring
    failure: str | None = None  # the diagnosis kind it teaches (see FAILURES)


def _demo(name: str) -> Demo:
    path = HERE / f"{name}.py"
    doc = ast.get_docstring(ast.parse(path.read_text())) or ""
    first, _, rest = doc.partition("\n")
    return Demo(name, path, first.strip(), " ".join(rest.split()), FAILURES.get(name))


def catalog() -> list[Demo]:
    return [_demo(name) for name in ORDER]


def find(name: str) -> Demo:
    if name not in ORDER:
        raise KeyError(f"no demo named {name!r}; the demos are: {', '.join(ORDER)}")
    return _demo(name)
