"""Is there a screen to open a window on? Asked before Qt, which would abort the process."""

from __future__ import annotations

import os
import sys

NO_DISPLAY = """\
gradviz: no display to open a window on (DISPLAY and WAYLAND_DISPLAY are not set).
  Without a window, write a picture:   gradviz export SOURCE -o graph.svg   (.png .pdf .dot .json)
  Or render the window off screen:     QT_QPA_PLATFORM=offscreen gradviz demo linear --screenshot shot.png"""


def display_problem() -> str | None:
    """The message to print instead of crashing, or None when a window can open."""
    if os.environ.get("QT_QPA_PLATFORM") or not sys.platform.startswith("linux"):
        return None
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return None
    return NO_DISPLAY
