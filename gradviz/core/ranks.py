"""gradviz under ``torchrun``: which processes trace, and files that never collide.

torchrun starts one process per rank with ``RANK`` and ``WORLD_SIZE`` in the environment,
each running the same ``gradviz run|export`` command. Each traces only when its rank was
asked for (``--ranks``, rank 0 by default); the others run the script untouched. When there
are several ranks, a written file gets its rank in its name (``out.rank1.json``).
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import GradvizError


class RanksError(GradvizError, ValueError):
    """``--ranks`` is not ``all`` or a list of rank numbers."""


def rank() -> int:
    return int(os.environ.get("RANK", "0") or 0)


def world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1") or 1)


def parse_ranks(text: str) -> frozenset[int] | None:
    """``"0,2"`` -> {0, 2}; ``"all"`` -> None (every rank)."""
    if text.strip().lower() == "all":
        return None
    try:
        ranks = frozenset(int(part) for part in text.split(","))
    except ValueError:
        raise RanksError(f"--ranks takes 'all' or rank numbers such as 0,1, not {text!r}") \
            from None
    if any(r < 0 for r in ranks):
        raise RanksError(f"--ranks takes rank numbers of 0 and above, not {text!r}")
    return ranks


def traced_here(ranks: frozenset[int] | None) -> bool:
    """Whether this process's rank is one of ``ranks`` (None: all)."""
    return ranks is None or rank() in ranks


def rank_path(path: str) -> str:
    """``path`` with this rank in its name (``out.rank1.json``) when there are several ranks."""
    if world_size() <= 1:
        return path
    p = Path(path)
    return str(p.with_name(f"{p.stem}.rank{rank()}{p.suffix}"))
