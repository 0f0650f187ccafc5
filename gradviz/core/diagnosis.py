"""What went wrong in a backward pass, as findings every surface shows the same way.

A :class:`Finding` is one diagnosis (an in-place write to a saved tensor, a second backward
through a freed graph, a cut chain, a non-finite value, a gradient that explodes or vanishes).
Each check is a function ``check(graph, exc) -> Iterable[Finding]`` listed in :data:`CHECKS`;
:func:`diagnose` runs them all. The CLI prints findings, ``gradviz.explain(exc)`` words them,
and the app's banner selects their ``nodes`` ("show me"), so a check is written once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .graph import GradGraph


class Severity(StrEnum):
    """``ERROR``: the finding explains an exception (the CLI exits 1); ``WARNING``: the script
    ran but something is wrong (NaN, unused parameters; exit 0, one line each); ``INFO``: a
    verdict worth a line in the summary (gradient scale across layers)."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True)
class Finding:
    kind: str  # a short stable name: "inplace", "backward_twice", "cut_chain", "nonfinite", ...
    severity: Severity
    title: str  # one line, the first thing shown (banner, CLI)
    details: tuple[str, ...] = ()  # further lines, naming the user's file:line where known
    nodes: tuple[int, ...] = ()  # graph node ids to mark and select ("show me")
    where: tuple[str, ...] = ()  # the user's lines involved, "train.py:12"
    suggestion: str | None = None  # the fix, as code or one sentence

    def lines(self) -> list[str]:
        """The finding as the CLI prints it: title, details, then the suggestion."""
        out = [self.title, *self.details]
        if self.suggestion:
            out.append(f"fix: {self.suggestion}")
        return out


#: Every check, in the order their findings are shown.
Check = Callable[["GradGraph | None", "BaseException | None"], Iterable[Finding]]
CHECKS: list[Check] = []


def diagnose(graph: GradGraph | None, exc: BaseException | None = None) -> list[Finding]:
    """Every finding about ``graph`` (None when no pass was traced) and ``exc``, the exception
    the script or backward raised (None when it ran through)."""
    return [finding for check in CHECKS for finding in check(graph, exc)]


from . import diagnoses  # noqa: E402,F401 - each check appends itself to CHECKS
