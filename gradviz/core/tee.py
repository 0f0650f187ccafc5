"""A script's prints, to the terminal as before and to a listener too (the app's console).

The script runs in a thread of gradviz's own process, so ``sys.stdout`` is shared: only what
the script's thread writes is passed on; gradviz's other threads write to the terminal alone.
Text written straight to the file descriptors (C extensions) is not seen.
"""

from __future__ import annotations

import sys
import threading
from contextlib import contextmanager
from typing import Callable

#: listen(stream, text): stream is "stdout" or "stderr".
Listener = Callable[[str, str], None]


class _Tee:
    """A text stream that writes to ``stream`` and tells ``listen`` what ``thread`` wrote."""

    def __init__(self, stream, name: str, listen: Listener, thread: int):
        self._stream, self._name, self._listen, self._thread = stream, name, listen, thread

    def write(self, text: str) -> int:
        written = self._stream.write(text) if self._stream is not None else len(text)
        if text and threading.get_ident() == self._thread:
            self._listen(self._name, text)
        return written

    def flush(self) -> None:
        if self._stream is not None:
            self._stream.flush()

    def __getattr__(self, name):  # encoding, isatty, fileno, buffer...: the real stream's
        return getattr(self._stream, name)


@contextmanager
def tee_output(listen: Listener):
    """Pass what this thread writes to ``sys.stdout``/``sys.stderr`` on to ``listen`` as well.

    A stream the script replaced meanwhile (``contextlib.redirect_stdout`` left in place) is
    left as the script set it."""
    thread = threading.get_ident()
    saved = sys.stdout, sys.stderr
    tees = (_Tee(saved[0], "stdout", listen, thread), _Tee(saved[1], "stderr", listen, thread))
    sys.stdout, sys.stderr = tees
    try:
        yield
    finally:
        if sys.stdout is tees[0]:
            sys.stdout = saved[0]
        if sys.stderr is tees[1]:
            sys.stderr = saved[1]
