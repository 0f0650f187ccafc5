"""Is there a screen to open a window on? Asked before Qt, which would abort the process."""

from __future__ import annotations

import ctypes
import os
import sys
from pathlib import Path

_INSTEAD = """
  Without a window, write a picture:  gradviz export SOURCE -o graph.svg  (.png .pdf .dot .json)
  Or render the window off screen:    QT_QPA_PLATFORM=offscreen gradviz demo --screenshot s.png"""

NO_DISPLAY = ("gradviz: no display to open a window on (DISPLAY and WAYLAND_DISPLAY are not set)."
              + _INSTEAD)

NO_XCB = ("gradviz: Qt cannot open a window on X11 here: its xcb plugin needs {missing}.\n"
          "  Debian/Ubuntu: sudo apt-get install libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 "
          "libxcb-shape0 libxkbcommon-x11-0" + _INSTEAD)


def _xcb_missing() -> str | None:
    """The system library that Qt's X11 plugin cannot load, found by loading the plugin the
    way Qt would (Qt itself only says "could not load the Qt platform plugin" and aborts)."""
    from PySide6.QtCore import QLibraryInfo

    plugin = Path(QLibraryInfo.path(QLibraryInfo.LibraryPath.PluginsPath), "platforms",
                  "libqxcb.so")
    if not plugin.exists():
        return None
    try:
        ctypes.CDLL(str(plugin))
    except OSError as err:
        return str(err).partition(":")[0]
    return None


def display_problem() -> str | None:
    """The message to print instead of crashing, or None when a window can open."""
    if os.environ.get("QT_QPA_PLATFORM") or not sys.platform.startswith("linux"):
        return None
    if os.environ.get("WAYLAND_DISPLAY"):
        return None
    if os.environ.get("DISPLAY"):
        missing = _xcb_missing()
        return NO_XCB.format(missing=missing) if missing else None
    return NO_DISPLAY
