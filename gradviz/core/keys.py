"""What a drawn box is and which thing it stands for: one parse, one spelling, one place.

A Layout's boxes are keyed by plain values (a graph node id, ``"module:<path>"`` for a folded
module, ``"run:<first>..<last>"`` for a folded run of blocks) because files, caches and users'
code read those keys. Code that must tell them apart calls :func:`parse_key` and matches on
the small frozen types below instead of testing ``isinstance(key, str)`` and prefixes.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar

from .errors import GradvizError

#: What a folded module's key starts with, and a folded run's.
MODULE_PREFIX = "module:"
RUN_PREFIX = "run:"

#: A drawn key as a Layout holds it: a node id, or a folded module's or run's string.
Key = int | str


@dataclass(frozen=True)
class NodeKey:
    """One graph node, drawn as itself."""

    id: int

    @property
    def raw(self) -> int:
        return self.id


@dataclass(frozen=True)
class _Folded:
    """A box that holds several graph nodes, keyed by its prefix and a name."""

    PREFIX: ClassVar[str]
    name: str

    @property
    def raw(self) -> str:
        return f"{self.PREFIX}{self.name}"


class ModuleKey(_Folded):
    """A folded ``nn.Module``: every node below ``path`` (its name) in one box."""

    PREFIX = MODULE_PREFIX

    @property
    def path(self) -> str:
        return self.name


class RunKey(_Folded):
    """A folded run of identical blocks, named ``"<first path>..<last path>"``."""

    PREFIX = RUN_PREFIX


DrawnKey = NodeKey | ModuleKey | RunKey


class NotAKey(GradvizError, ValueError):
    """A value that is no drawn key."""


def parse_key(raw: Key) -> DrawnKey:
    """The typed key for a Layout's plain key; :class:`NotAKey` for anything else."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        return NodeKey(raw)
    if isinstance(raw, str):
        if raw.startswith(MODULE_PREFIX):
            return ModuleKey(raw.removeprefix(MODULE_PREFIX))
        if raw.startswith(RUN_PREFIX):
            return RunKey(raw.removeprefix(RUN_PREFIX))
    raise NotAKey(f"{raw!r} is not a drawn key: use a node id, 'module:<path>' or 'run:a..b'")


def is_folded(raw: Key) -> bool:
    """Whether ``raw`` is a box that holds several graph nodes (a module or a run)."""
    return not isinstance(parse_key(raw), NodeKey)


def module_key(path: str) -> str:
    return ModuleKey(path).raw


class BoxKind(StrEnum):
    """What a drawn box is. The first three are a graph node's own kind; the rest are boxes
    the layout adds. A StrEnum: it compares equal to the plain strings files and tests use."""

    OP = "op"
    LEAF = "leaf"
    OUTPUT = "output"
    MODULE = "module"  # a folded module or run of blocks
    BLOCK = "block"  # a repeated block placed as one rectangle while laying out (layout.blocks)
    STUB = "stub"  # a point standing for an outside source inside a block's own layout
    SWATCH = "swatch"  # a legend colour in an exported picture
    NOTE = "note"  # a legend's text
    TITLE = "title"  # an export's title line
    CLUSTER = "cluster"  # a module's frame around its drawn members
