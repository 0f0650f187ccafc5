"""The console dock: what the running script prints (it still goes to the terminal too).

The script prints from its own thread, possibly every step: ``write`` only queues the text,
and the GUI thread appends what came every :data:`FLUSH_MS`, so a chatty loop costs one
append per tick instead of one queued signal per line. The oldest lines go past
:data:`MAX_LINES`.
"""

from __future__ import annotations

import threading

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QFontDatabase, QTextCharFormat
from PySide6.QtWidgets import QDockWidget, QPlainTextEdit

FLUSH_MS = 100
MAX_LINES = 10_000
ERROR_COLOUR = Qt.red


class Console(QDockWidget):
    def __init__(self, parent=None):
        super().__init__("Console", parent)
        self.setObjectName("console")
        self.text = QPlainTextEdit(readOnly=True, objectName="console_text")
        self.text.setMaximumBlockCount(MAX_LINES)
        self.text.setMinimumSize(320, 100)
        self.text.setFont(QFontDatabase.systemFont(QFontDatabase.FixedFont))
        self.setWidget(self.text)
        self._queue: list[tuple[object, str, str]] = []
        self._lock = threading.Lock()
        self._run = None  # the run whose text is shown; text of older runs is dropped
        self._timer = QTimer(self, interval=FLUSH_MS, timeout=self.flush)

    def begin(self, run) -> None:
        """A new script run (any object that names it): clear, and take its text from now."""
        with self._lock:
            self._run, self._queue = run, []
        self.text.clear()
        self._timer.start()

    def write(self, run, stream: str, text: str) -> None:
        """Any thread: ``text`` printed by ``run`` to ``stream`` ("stdout" or "stderr")."""
        with self._lock:
            self._queue.append((run, stream, text))

    def flush(self) -> None:
        """Append what was queued (GUI thread)."""
        with self._lock:
            queued, self._queue = self._queue, []
        parts = [(stream, text) for run, stream, text in queued if run is self._run]
        if not parts:
            return
        if self.isHidden():
            self.show()
        cursor = self.text.textCursor()
        cursor.movePosition(cursor.MoveOperation.End)
        plain, error = QTextCharFormat(), QTextCharFormat()
        error.setForeground(ERROR_COLOUR)
        for stream, text in parts:
            cursor.insertText(text, error if stream == "stderr" else plain)
        bar = self.text.verticalScrollBar()
        bar.setValue(bar.maximum())

    def contents(self) -> str:
        return self.text.toPlainText()
