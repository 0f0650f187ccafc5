"""After set-up, Qt's X11 plugin loads: `make run` on a desktop opens the window instead of
stopping at a library the machine lacks (issue 12: libxcb-icccm.so.4 on a fresh Debian 12)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QLibraryInfo

from gradviz.app import display

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="Qt uses its xcb plugin on Linux only")

PLUGINS = Path(QLibraryInfo.path(QLibraryInfo.LibraryPath.PluginsPath))
XCB = [PLUGINS / "platforms" / "libqxcb.so",
       *sorted((PLUGINS / "xcbglintegrations").glob("*.so"))]


def _ldd(library: Path) -> dict[str, str]:
    """Every library in `library`'s dependency tree -> where the loader finds it."""
    out = subprocess.run(["ldd", str(library)], capture_output=True, text=True, check=True).stdout
    return {line.split()[0]: line.split("=>")[1].split("(")[0].strip()
            for line in out.splitlines() if "=>" in line}


@pytest.mark.parametrize("plugin", XCB, ids=lambda p: p.name)
def test_every_library_the_xcb_plugin_loads_resolves(plugin):
    assert plugin.is_file(), plugin
    unresolved = sorted(name for name, path in _ldd(plugin).items() if path == "not found")
    assert unresolved == [], f"{plugin.name} cannot load on this machine without {unresolved}"


def test_setup_installs_what_ldd_cannot_find():
    """`make setup` reads the libraries to install from the plugins themselves, as ldd does."""
    res = subprocess.run([sys.executable, display.__file__, "--missing-libs"],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    unresolved = {name for plugin in XCB for name, path in _ldd(plugin).items()
                  if path == "not found"}
    listed = [line.split() for line in res.stdout.splitlines()]
    assert {lib for lib, _package in listed} == unresolved


@pytest.mark.skipif(shutil.which("dpkg") is None, reason="Debian package names need dpkg")
def test_debian_names_the_package_that_holds_each_x11_library():
    """The naming rule that turns a missing libfoo.so.N into a package, checked against the
    package dpkg says owns each X11 library the plugin links on this machine."""
    checked = 0
    for name, path in sorted(_ldd(XCB[0]).items()):
        if path == "not found" or not name.lower().startswith(("libxcb", "libxkb", "libx11")):
            continue
        owner = subprocess.run(["dpkg", "-S", str(Path(path).resolve())], capture_output=True,
                               text=True).stdout.partition(":")[0]
        assert display.debian_package(name) == owner, (name, path)
        checked += 1
    assert checked >= 15  # libxcb, its extensions, libX11(-xcb), libxkbcommon(-x11): 18 in Qt 6.11
