"""The memory budget for whole gradients: how many bytes of them one backward pass may keep.

Keeping a gradient whole holds on to its tensor (autograd cannot reuse that memory), so the
bytes add up as the pass goes. Each gradient is kept whole if it fits in what is left of the
budget, counted as it arrives; one that does not fit is summarised (exact norm and a sample)
while smaller ones after it may still fit. Past the budget, then, the large gradients are
the ones summarised, and the pass never holds more than the budget in whole gradients.
"""

from __future__ import annotations

import re
import threading

from .errors import GradvizError

#: Whole gradients a pass may keep by default: every gradient of a small or medium model.
DEFAULT_BUDGET = 256 * 2**20

_UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
          "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}
_SIZE = re.compile(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*([a-z]*)\s*", re.IGNORECASE)


class BudgetError(GradvizError, ValueError):
    """A budget that is not a size in bytes."""


def parse_budget(budget) -> int:
    """Bytes from an int (``268435456``) or a size (``"256MiB"``, ``"1GiB"``, ``"500MB"``)."""
    if isinstance(budget, int) and not isinstance(budget, bool):
        if budget < 0:
            raise BudgetError(f"budget must not be negative, not {budget}")
        return budget
    if isinstance(budget, str):
        match = _SIZE.fullmatch(budget)
        unit = match and _UNITS.get(match.group(2).lower())
        if unit:
            return int(float(match.group(1)) * unit)
    raise BudgetError(f"budget must be a number of bytes or a size such as '256MiB' or '1GiB' "
                      f"(units B, KB, MB, GB, KiB, MiB, GiB), not {budget!r}")


def format_bytes(n: int) -> str:
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            return f"{n / size:.4g} {unit}"
    return f"{n} bytes"


class Budget:
    """Bytes of whole gradients kept so far in one pass. Hooks of several devices may run
    on engine threads at once, so the count is taken under a lock."""

    def __init__(self, limit: int):
        self.limit = limit
        self.used = 0
        #: Whether some gradient was summarised because it did not fit.
        self.exceeded = False
        self._lock = threading.Lock()
        self._last_ptr = self._last_bytes = 0  # the last gradient kept: where, how large

    def take(self, nbytes: int, ptr: int = 0) -> bool:
        """Count a gradient of ``nbytes`` at address ``ptr`` (0: unknown) as kept, and say
        True if it fits in what is left; else False.

        A view op passes its gradient on in the same memory (a fifth of a transformer's
        gradients): one that starts where the last kept one starts, and is no larger, lies
        in memory already counted (the last one is held, so no other tensor can be there).
        """
        with self._lock:
            if ptr and ptr == self._last_ptr and nbytes <= self._last_bytes:
                return True
            if self.used + nbytes <= self.limit:
                self.used += nbytes
                self._last_ptr, self._last_bytes = ptr, nbytes
                return True
            self.exceeded = True
            return False


def address(t) -> int:
    """Where ``t``'s data starts; 0 where it has no memory to compare (XLA, lazy, meta)."""
    try:
        return t.data_ptr()
    except RuntimeError:
        return 0
