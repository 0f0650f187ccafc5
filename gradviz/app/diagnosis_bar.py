"""The diagnosis bar over the graph view: what went wrong, at the user's lines, and "show me".

A bar, not a dialog: the graph stays usable under it and ✕ closes it. It shows one finding
at a time (‹ › step through several), with the exception the script raised kept visible as
it was raised (its message, and its trimmed traceback one click away); an exception no check
recognises is shown as it is, with no guess. "Show me" asks the window to mark the finding's
nodes and select them, the next one at each click.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QFrame, QHBoxLayout, QLabel, QPlainTextEdit, QPushButton,
                               QSizePolicy, QToolButton, QVBoxLayout)

from gradviz.core.diagnosis import Finding, Severity

from .errors import error_text, raised_text

WORD = {Severity.ERROR: "Error", Severity.WARNING: "Warning", Severity.INFO: "Note"}
#: Detail lines the bar shows at most, so the graph keeps the room; the inspector has them all.
DETAILS = 4


def _label(object_name: str = "") -> QLabel:
    return QLabel(objectName=object_name, wordWrap=True,
                  textInteractionFlags=Qt.TextSelectableByMouse)


class DiagnosisBar(QFrame):
    """``set_findings(findings, exc)``: hidden when there is neither."""

    show_me = Signal(object, int)  # the Finding, the graph node to select now
    dismissed = Signal()

    def __init__(self, parent=None):
        super().__init__(parent, objectName="diagnosis")
        self.setSizePolicy(QSizePolicy.Preferred, QSizePolicy.Maximum)  # the graph takes the rest
        self.title = _label("diagnosis-title")
        self.details = _label()
        self.error = _label("diagnosis-error")
        self.traceback = QPlainTextEdit(readOnly=True, maximumHeight=180)
        self.traceback.hide()
        self.position = QLabel()
        self.prev = QToolButton(text="‹", toolTip="Previous finding",
                                clicked=lambda: self._turn(-1))
        self.next = QToolButton(text="›", toolTip="Next finding", clicked=lambda: self._turn(1))
        self.show_button = QPushButton("Show me", clicked=self._on_show_me,
                                       toolTip="Mark this finding's nodes and select them in turn")
        self.trace_button = QToolButton(text="Traceback", checkable=True,
                                        toggled=self.traceback.setVisible)
        close = QToolButton(text="✕", toolTip="Dismiss", clicked=self.dismiss)
        top = QHBoxLayout()
        top.addWidget(self.title, 1)
        for w in (self.position, self.prev, self.next, self.show_button, self.trace_button, close):
            top.addWidget(w, 0, Qt.AlignTop)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(10, 6, 10, 6)
        lay.setSpacing(3)
        lay.addLayout(top)
        for w in (self.details, self.error, self.traceback):
            lay.addWidget(w)
        self.findings: list[Finding] = []
        self.index = 0  # the finding shown
        self.step = 0  # its node that "show me" selects next
        self._message = ""  # the exception as raised, one line
        self.hide()

    @property
    def finding(self) -> Finding | None:
        return self.findings[self.index] if self.findings else None

    def set_findings(self, findings: list[Finding], exc: BaseException | None = None) -> None:
        self.findings, self.index, self.step = list(findings), 0, 0
        message = raised_text(exc) if exc is not None else ""
        trace = error_text(exc)[1] if exc is not None else ""
        self.error.setText(f"raised: {message}" if self.findings and message else "")
        self.error.setVisible(bool(self.findings and message))
        self._message = message
        self.traceback.setPlainText(trace)
        self.trace_button.setVisible(bool(trace))
        self.trace_button.setChecked(False)
        self._show()
        self.setVisible(bool(self.findings or exc is not None))

    def _show(self) -> None:
        finding, many = self.finding, len(self.findings) > 1
        for w in (self.position, self.prev, self.next):
            w.setVisible(many)
        self.position.setText(f"{self.index + 1} of {len(self.findings)}")
        if finding is None:  # an exception no check recognises: as it was raised
            severity, title, details = Severity.ERROR, self._message, ""
        else:
            severity, title = finding.severity, f"{WORD[finding.severity]}: {finding.title}"
            lines = list(finding.details[:DETAILS])
            if len(finding.details) > DETAILS:
                lines.append(f"… {len(finding.details) - DETAILS} more lines in the inspector")
            if finding.suggestion:
                lines.append(f"fix: {finding.suggestion}")
            details = "\n".join(lines)
        self.title.setText(title)
        self.details.setText(details)
        self.details.setVisible(bool(details))
        nodes = finding.nodes if finding is not None else ()
        self.show_button.setVisible(bool(nodes))
        self.show_button.setText("Show me" if len(nodes) < 2
                                 else f"Show me {self.step + 1}/{len(nodes)}")
        self.setProperty("severity", severity.value)
        self.style().unpolish(self)  # the style sheet picks the colours by severity
        self.style().polish(self)

    def _turn(self, delta: int) -> None:
        self.index, self.step = (self.index + delta) % len(self.findings), 0
        self._show()

    def _on_show_me(self) -> None:
        finding = self.finding
        node = finding.nodes[self.step]
        self.step = (self.step + 1) % len(finding.nodes)
        self._show()
        self.show_me.emit(finding, node)

    def dismiss(self) -> None:
        self.hide()
        self.dismissed.emit()
