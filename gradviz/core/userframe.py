"""Find the user's code on the call stack: the first frame outside torch and gradviz."""

from __future__ import annotations

import inspect
import os
import sys
import sysconfig
from contextlib import contextmanager
from types import FrameType

import torch

_TORCH = os.path.dirname(os.path.abspath(torch.__file__)) + os.sep
# the gradviz package: two levels up from this file (gradviz/core/userframe.py)
_GRADVIZ = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
_DEMOS = _GRADVIZ + "demos" + os.sep  # the lecture demos are user code
_STDLIB = os.path.abspath(sysconfig.get_paths()["stdlib"]) + os.sep


def is_library(filename: str) -> bool:
    """Whether ``filename`` is torch's or gradviz's (the demos are user code)."""
    if not filename.startswith(os.sep):
        filename = os.path.abspath(filename) if not filename.startswith("<") else filename
    if filename.startswith(_TORCH) or filename.startswith("<frozen "):
        return True
    return filename.startswith(_GRADVIZ) and not filename.startswith(_DEMOS)


def user_frame(depth: int = 1) -> FrameType | None:
    """The innermost caller frame that belongs to neither torch nor gradviz."""
    frame = sys._getframe(depth)
    while frame is not None and is_library(frame.f_code.co_filename):
        frame = frame.f_back
    return frame


def source_line(depth: int = 1) -> str | None:
    """``train.py:42`` for the user's line that is running now."""
    frame = user_frame(depth + 1)
    if frame is None:
        return None
    return f"{os.path.basename(frame.f_code.co_filename)}:{frame.f_lineno}"


def in_library(folder: str, depth: int = 1) -> bool:
    """Whether the call running now came from code under ``folder`` (torch's optimizers),
    through torch's and gradviz's frames only: the user's code did not call it directly."""
    frame = sys._getframe(depth)
    while frame is not None and is_library(frame.f_code.co_filename):
        if frame.f_code.co_filename.startswith(folder):
            return True
        frame = frame.f_back
    return False


def outer_line(depth: int = 1) -> str | None:
    """``train.py:20``: the user's line that called into the model running now, where
    ``source_line`` names a line inside the model: the outermost user frame reached through
    torch's frames (``nn.Module.__call__``); None when torch called no user code in between.
    The walk stops at gradviz's runner and at the standard library (runpy, a thread)."""
    frame, line, crossed = sys._getframe(depth), None, False
    while frame is not None:
        name = frame.f_code.co_filename
        if name.startswith(_STDLIB) or name.startswith(_GRADVIZ) and not name.startswith(_DEMOS):
            break
        if is_library(name):
            crossed = True
        elif crossed:
            line, crossed = f"{os.path.basename(name)}:{frame.f_lineno}", False
        frame = frame.f_back
    return line


@contextmanager
def caller_locals(frame: FrameType | None):
    """A copy of a function frame's local variables, read without keeping them alive.

    Before Python 3.13, ``frame.f_locals`` of a function is a snapshot dict stored on the
    frame, the very dict the function's own ``locals()`` returns: left filled, it would hold
    every local tensor until the function returns, even after the user deletes it. So it is
    emptied afterwards, but only when nothing but the frame holds it (Python refills it on
    the next read); a dict the user's code kept (a logger, a config helper) is theirs and
    keeps what ``locals()`` would give them now.
    """
    if frame is None:
        yield {}
        return
    local = frame.f_locals
    try:
        yield dict(local)
    finally:
        snapshot = sys.version_info < (3, 13) and frame.f_code.co_flags & inspect.CO_OPTIMIZED
        # three references: the frame's, ``local`` here, and getrefcount's argument
        if snapshot and local is not frame.f_globals and sys.getrefcount(local) <= 3:
            local.clear()
