"""Is there a screen to open a window on? Asked before Qt, which would abort the process.

``make setup`` runs this file as a script (``python gradviz/app/display.py --missing-libs``,
which imports neither gradviz nor torch) to learn which libraries Qt's X11 plugin lacks.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

_INSTEAD = """
  Without a window, write a picture:  gradviz export SOURCE -o graph.svg  (.png .pdf .dot .json)
  Or render the window off screen:    QT_QPA_PLATFORM=offscreen gradviz demo --screenshot s.png"""

NO_DISPLAY = ("gradviz: no display to open a window on (DISPLAY and WAYLAND_DISPLAY are not set)."
              + _INSTEAD)

NO_XCB = ("gradviz: Qt cannot open a window on X11 here: its xcb plugin needs {missing}.\n"
          "  Debian/Ubuntu: sudo apt-get install {packages}" + _INSTEAD)


def xcb_plugins() -> list[Path]:
    """Qt's X11 platform plugin, then the GL integrations it loads: they ship inside PySide6
    but link system libraries that a fresh machine may lack. Empty where Qt has no X11."""
    from PySide6.QtCore import QLibraryInfo

    plugins = Path(QLibraryInfo.path(QLibraryInfo.LibraryPath.PluginsPath))
    xcb = plugins / "platforms" / "libqxcb.so"
    if not xcb.exists():
        return []
    return [xcb, *sorted((plugins / "xcbglintegrations").glob("*.so"))]


def missing_libraries(libraries: list[Path]) -> list[str]:
    """Every shared library in the dependency trees of `libraries` that the loader cannot
    find. ldd walks the whole tree; loading stops at the first, and Qt then only says
    "could not load the Qt platform plugin" and aborts."""
    missing: list[str] = []
    for library in libraries:
        try:
            out = subprocess.run(["ldd", str(library)], capture_output=True, text=True).stdout
        except FileNotFoundError:  # a libc without ldd: Qt's own message is all there is
            return []
        for line in out.splitlines():
            name, _, where = (part.strip() for part in line.partition("=>"))
            if where == "not found" and name not in missing:
                missing.append(name)
    return missing


def debian_package(library: str) -> str:
    """The package that holds a shared library, named by Debian policy 8.1 (libfoo.so.N is in
    libfooN, libfoo2.so.N in libfoo2-N): libxcb-icccm.so.4 -> libxcb-icccm4. Libraries that
    break the rule (libglib-2.0.so.0 is in libglib2.0-0) get a name no package has."""
    stem, _, version = library.partition(".so.")
    stem = stem.lower().replace("_", "-")
    return f"{stem}-{version}" if stem[-1:].isdigit() else f"{stem}{version}"


def display_problem() -> str | None:
    """The message to print instead of crashing, or None when a window can open."""
    if os.environ.get("QT_QPA_PLATFORM") or not sys.platform.startswith("linux"):
        return None
    if os.environ.get("WAYLAND_DISPLAY"):
        return None
    if os.environ.get("DISPLAY"):
        # The plugin alone: without its GL integrations a window still opens.
        if missing := missing_libraries(xcb_plugins()[:1]):
            return NO_XCB.format(missing=", ".join(missing),
                                 packages=" ".join(map(debian_package, missing)))
        return None
    return NO_DISPLAY


if __name__ == "__main__":
    if sys.argv[1:] != ["--missing-libs"]:
        sys.exit(f"usage: python {sys.argv[0]} --missing-libs  "
                 "(prints 'LIBRARY DEBIAN-PACKAGE' for each one Qt's X11 plugin lacks)")
    for lib in missing_libraries(xcb_plugins()):
        print(lib, debian_package(lib))
