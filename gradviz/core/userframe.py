"""Find the user's code on the call stack: the first frame outside torch and gradviz."""

from __future__ import annotations

import os
import sys
from types import FrameType

import torch

import gradviz

_TORCH = os.path.dirname(os.path.abspath(torch.__file__)) + os.sep
_GRADVIZ = os.path.dirname(os.path.abspath(gradviz.__file__)) + os.sep
_DEMOS = _GRADVIZ + "demos" + os.sep  # the lecture demos are user code


def _is_library(filename: str) -> bool:
    if not filename.startswith(os.sep):
        filename = os.path.abspath(filename) if not filename.startswith("<") else filename
    if filename.startswith(_TORCH) or filename.startswith("<frozen "):
        return True
    return filename.startswith(_GRADVIZ) and not filename.startswith(_DEMOS)


def user_frame(depth: int = 1) -> FrameType | None:
    """The innermost caller frame that belongs to neither torch nor gradviz."""
    frame = sys._getframe(depth)
    while frame is not None and _is_library(frame.f_code.co_filename):
        frame = frame.f_back
    return frame


def source_line(depth: int = 1) -> str | None:
    """``train.py:42`` for the user's line that is running now."""
    frame = user_frame(depth + 1)
    if frame is None:
        return None
    return f"{os.path.basename(frame.f_code.co_filename)}:{frame.f_lineno}"
