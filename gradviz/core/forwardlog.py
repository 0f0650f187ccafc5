"""What ``record()`` notes beside each op's tag: in-place writes, and cuts of the gradient chain.

Both are rare in a forward pass (an in-place op; a ``.detach()``, ``.item()`` or an op under
``no_grad`` applied to a tensor that requires grad), so noting them costs the forward nothing
it would notice. The diagnoses read them once backward has failed (or a parameter got no
gradient), when the forward that made the graph is long over, so the log outlives the
``record()`` block: a bounded queue, the newest entries kept.

A write is matched with the saved tensor it changed by its storage (the data pointer) and the
version counter it left, which torch's error message quotes ("is at version 2; expected
version 0"): a storage freed and reused would also need the same versions to be confused.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

#: Entries kept of each kind: a training loop's last steps, many times over.
KEEP = 4096


@dataclass(frozen=True)
class Write:
    """An in-place op: ``y.mul_(2)``, ``y[0] = 1``, ``relu(inplace=True)``, ``add(out=y)``."""

    op: str  # "mul_", "__setitem__", "relu(inplace=True)"
    where: str | None  # the user's line, "train.py:12"
    #: (storage data pointer, version counter after the write, shape) of each tensor written
    #: (several for a ``torch._foreach_*_`` call: an optimizer step).
    targets: tuple[tuple[int, int, tuple], ...]


@dataclass(frozen=True)
class Cut:
    """A tensor that requires grad, turned into one that does not (or into a Python value)."""

    kind: str  # "no_grad", "inference_mode", "detach", "item", "number", "integer", ...
    op: str  # "detach", "item", "linear"
    where: str | None  # the user's line that ran the op (inside their model, maybe)
    outer: str | None  # the outermost user line running then: ``out = model(x)``
    #: id() of the leaf tensors (parameters) its inputs were computed from
    leaves: tuple[int, ...]
    step: int  # the step it was made in (see :attr:`ForwardLog.step`)


class ForwardLog:
    """The writes and cuts of the recent forward passes, oldest first."""

    def __init__(self, keep: int = KEEP):
        self.writes: deque[Write] = deque(maxlen=keep)
        self.cuts: deque[Cut] = deque(maxlen=keep)
        #: Forward passes begun (a ``record()`` block entered, a backward call finished under
        #: ``gradviz run``): an entry belongs to the step it was made in.
        self.step = 0

    def new_step(self) -> None:
        self.step += 1

    def cuts_of_step(self) -> list[Cut]:
        """The cuts made in the step now running, in the order they came."""
        return [c for c in self.cuts if c.step == self.step]

    def writes_to(self, storage: int, after: int, upto: int) -> list[Write]:
        """The writes that took the storage at ``storage`` from version ``after`` to ``upto``,
        oldest first: the newest write that left each version in between (an older one that
        left the same version wrote to an earlier storage at the same address)."""
        found: dict[int, Write] = {}
        for write in reversed(self.writes):
            left = next((v for p, v, _ in write.targets if p == storage), None)
            if left is None or left > upto or left in found:
                continue
            if left <= after or len(found) == upto - after:
                break
            found[left] = write
        return [found[v] for v in sorted(found)]

    def clear(self) -> None:
        self.writes.clear()
        self.cuts.clear()


#: The one log ``record()`` writes to.
LOG = ForwardLog()
