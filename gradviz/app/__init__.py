"""gradviz's desktop app: everything that imports Qt lives in this package.

It also works around a reference-counting bug of PySide6 6.12 on Python 3.11, measured
here: a call to a Qt method that returns nothing (``path.lineTo``, ``obj.setObjectName``)
takes one reference away from ``None``, and ``Signal.emit()`` one from ``True``. Python 3.12
made those objects immortal, so the missing increments are harmless there; on 3.11 the
interpreter aborts ("Fatal Python error: none_dealloc") after some thousands of Qt calls, in
the middle of a session. Importing this package gives ``None``, ``True`` and ``False`` a
reference count no session can use up, which is what 3.12 does for them, and only when the
leak is actually measured (so a fixed PySide6 or a newer Python is left alone).
"""

from __future__ import annotations

import ctypes
import sys

#: Added to the reference counts: 2**48 lost references is centuries of Qt calls.
_PIN = 1 << 48


def _leaks_references() -> bool:
    from PySide6.QtCore import QObject

    probe = QObject()
    before = sys.getrefcount(None)
    for _ in range(20):
        probe.setObjectName("probe")
    return before - sys.getrefcount(None) >= 20


def _pin_singletons() -> None:
    if sys.version_info >= (3, 12) or not _leaks_references():
        return
    for obj in (None, True, False):
        ctypes.c_ssize_t.from_address(id(obj)).value += _PIN  # ob_refcnt: the first field


_pin_singletons()
