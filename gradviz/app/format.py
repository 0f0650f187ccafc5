"""Numbers as a person reads them: one shared precision per tensor, like numpy prints.

``[[2.15, 2.91], [1.60, 1.26]]`` and ``[[1, 1], [1, 1]]``: float32 noise (2.1500000953)
is rounded away, integers lose their ``.0``, and very large or very small values switch
the whole tensor to scientific notation.
"""

from __future__ import annotations

import math

MAX_DECIMALS = 4


def _flat(values) -> list:
    if isinstance(values, list):
        return [v for x in values for v in _flat(x)]
    return [values]


def number_format(values) -> str:
    """A format spec that prints every number in ``values`` (nested lists) the same way."""
    nums = [v for v in _flat(values) if isinstance(v, float) and math.isfinite(v)]
    big = max((abs(v) for v in nums), default=0.0)
    small = min((abs(v) for v in nums if v), default=1.0)
    if big >= 1e6 or small < 10 ** -MAX_DECIMALS:
        return ".3e"
    decimals = max((len(f"{v:.{MAX_DECIMALS}f}".rstrip("0").partition(".")[2]) for v in nums),
                   default=0)
    return f".{decimals}f"


def format_values(values) -> str:
    """Nested lists (``Snapshot.tolist()``) as one line of text: ``[[1, 1], [1, 1]]``."""
    spec = number_format(values)

    def one(v) -> str:
        if isinstance(v, list):
            return "[" + ", ".join(one(x) for x in v) + "]"
        if isinstance(v, bool) or isinstance(v, int):
            return str(v)
        if isinstance(v, float) and not math.isfinite(v):
            return str(v)  # nan, inf, -inf
        return format(v, spec)

    return one(values)


def format_stat(v) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)
