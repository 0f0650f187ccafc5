"""The status-bar strip that shows what runs in the background, how far, and a Cancel button."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

from .workers import Runner


class ProgressStrip(QWidget):
    def __init__(self, runner: Runner, parent=None):
        super().__init__(parent)
        self.label = QLabel()
        self.bar = QProgressBar(maximumWidth=160, textVisible=False)
        self.cancel = QPushButton("Cancel", clicked=runner.cancel)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        for w in (self.label, self.bar, self.cancel):
            lay.addWidget(w)
        runner.started.connect(self._on_started)
        runner.progress.connect(self._on_progress)
        runner.idle.connect(self.hide)
        self.hide()

    def _on_started(self, label: str) -> None:
        self.label.setText(label)
        self.bar.setRange(0, 0)  # busy until the job reports a fraction
        self.show()

    def _on_progress(self, text: str, fraction) -> None:
        if text:
            self.label.setText(text)
        if fraction is None:
            self.bar.setRange(0, 0)
        else:
            self.bar.setRange(0, 1000)
            self.bar.setValue(int(fraction * 1000))
