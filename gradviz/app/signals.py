"""``emit(signal, *args)``: Signal.emit without PySide6 6.12's lost reference to ``True``.

On Python before 3.12 (where ``True`` is not yet immortal), every Python-side
``SignalInstance.emit()`` in PySide6 6.12 drops one reference to ``True``: measured,
``sys.getrefcount(True)`` falls by one per call, whether or not anything is connected, and
after a few hundred emits the interpreter aborts with "bool_dealloc: deallocating True".
Signals that Qt emits from C++ (clicks, timers) are not affected. Every emit in the app
goes through here; the leak is measured once at import, so a fixed PySide6 costs nothing.
"""

from __future__ import annotations

import ctypes
import sys

from PySide6.QtCore import QObject, Signal


class _Probe(QObject):
    ping = Signal()


def _measure() -> int:
    probe = _Probe()
    before = sys.getrefcount(True)
    probe.ping.emit()
    return max(0, before - sys.getrefcount(True))


LOST_PER_EMIT = _measure()
_TRUE = ctypes.py_object(True)


def emit(signal, *args) -> None:
    signal.emit(*args)
    for _ in range(LOST_PER_EMIT):
        ctypes.pythonapi.Py_IncRef(_TRUE)
