"""The Qt binding must not leak references: PySide6 6.12.0 on Python 3.11 took one from
``None`` per void Qt call and one from ``True`` per ``emit``, and the interpreter aborted
after a few thousand (hence the pin in pyproject.toml). This keeps a future upgrade honest."""

import sys

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QPainterPath


class _Emitter(QObject):
    fired = Signal(int)


def test_void_calls_and_emit_keep_singleton_reference_counts():
    probe, path, emitter = QObject(), QPainterPath(), _Emitter()
    none_before, true_before = sys.getrefcount(None), sys.getrefcount(True)
    for _ in range(1000):
        probe.setObjectName("probe")
        path.lineTo(1.0, 1.0)
        emitter.fired.emit(1)
    assert none_before - sys.getrefcount(None) < 100
    assert true_before - sys.getrefcount(True) < 100
