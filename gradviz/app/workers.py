"""Long work (layout, script runs, loading) off the GUI thread, with progress and cancel.

As napari's slicer does: a request is made on the GUI thread, the pure job runs in a
worker thread, and its result is applied back on the GUI thread by a queued signal. Each
channel ("layout", "source") holds one current task; a newer request cancels the older
one, and a result that arrives from a task that is no longer current is dropped, so a
slow layout can never overwrite a newer one.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Callable

from PySide6.QtCore import QObject, Signal


#: A job: fn(progress, should_stop) -> result; ``progress(text, fraction or None)``, the
#: same call shape as ``gradviz.layout.layout``'s.
JobFn = Callable[[Callable, Callable[[], bool]], object]


@dataclass(eq=False)
class Task:
    channel: str
    label: str
    on_done: Callable[[object], None]
    on_error: Callable[[BaseException], None] | None
    stop: threading.Event = field(default_factory=threading.Event)

    def should_stop(self) -> bool:
        return self.stop.is_set()


class Runner(QObject):
    """Runs jobs in daemon threads; every callback is called on the GUI thread."""

    started = Signal(str)  # label of the task that now runs
    progress = Signal(str, object)  # text, fraction 0..1 or None (unknown)
    idle = Signal()  # no task runs any more
    _reply = Signal(object, object, object)  # task, result, error (from the worker thread)
    _report = Signal(object, str, object)  # task, text, fraction (from the worker thread)

    #: User scripts run here; PyTorch frees a deep autograd graph recursively and overflows
    #: the default 8 MB stack near 100,000 nodes (a segfault without gradviz too).
    STACK_BYTES = 1 << 29

    def __init__(self, parent=None):
        super().__init__(parent)
        threading.stack_size(self.STACK_BYTES)  # for the threads started from now on
        self._current: dict[str, Task] = {}
        self._reply.connect(self._on_reply)
        self._report.connect(self._on_report)

    @property
    def busy(self) -> bool:
        return bool(self._current)

    def running(self, channel: str) -> bool:
        """Whether a task on ``channel`` is running (its result not yet applied)."""
        return channel in self._current

    def submit(self, channel: str, label: str, fn: JobFn, on_done, on_error=None) -> Task:
        """Start ``fn`` in a thread; any earlier task on ``channel`` is cancelled and forgotten."""
        old = self._current.get(channel)
        if old is not None:
            old.stop.set()
        task = Task(channel, label, on_done, on_error)
        self._current[channel] = task
        self.started.emit(label)
        threading.Thread(target=self._work, args=(task, fn), daemon=True,
                         name=f"gradviz-{channel}").start()
        return task

    def cancel(self) -> None:
        """Stop every running task; their results will be dropped."""
        tasks, self._current = list(self._current.values()), {}
        for task in tasks:
            task.stop.set()
        if tasks:
            self.idle.emit()

    def _work(self, task: Task, fn: JobFn) -> None:
        def progress(text: str = "", fraction=None) -> None:
            self._send(self._report, task, text, fraction)

        try:
            result, error = fn(progress, task.should_stop), None
        except BaseException as exc:  # noqa: BLE001 - handed to the GUI thread, shown there
            result, error = None, exc
        self._send(self._reply, task, result, error)

    @staticmethod
    def _send(signal, *args) -> None:
        """Emit from the worker thread; once the window has closed (and deleted this runner)
        nobody waits for the result, which is dropped instead of a traceback at exit."""
        try:
            signal.emit(*args)
        except RuntimeError:  # "Signal source has been deleted"
            pass

    def _on_report(self, task: Task, text: str, fraction) -> None:
        if self._current.get(task.channel) is task:
            self.progress.emit(text, fraction)

    def _on_reply(self, task: Task, result, error) -> None:
        if self._current.get(task.channel) is not task:
            return  # stale: cancelled, or replaced by a newer request
        del self._current[task.channel]
        try:
            if error is None:
                task.on_done(result)
            elif task.on_error is not None:
                task.on_error(error)
            else:
                raise error
        finally:  # after the result is applied, and only if it started no further task
            if not self._current:
                self.idle.emit()
