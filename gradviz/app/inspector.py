"""The inspector dock: everything known about the selected node, or a summary of the graph."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (QDockWidget, QFormLayout, QLabel, QScrollArea, QVBoxLayout,
                               QWidget)

from gradviz.core.collapse import flow, runs
from gradviz.core.contiguous import within
from gradviz.core.diagnosis import Finding
from gradviz.core.explain import explain_node
from gradviz.core.flows import describe as describe_flows
from gradviz.core.graph import GradGraph, GradNode
from gradviz.core.keys import ModuleKey, NodeKey, RunKey, parse_key

from . import jobs
from .errors import raised_text
from .tensor_panel import TensorPanel

FIELDS = ("name", "kind", "op", "shape", "dtype", "device", "module", "source", "order")
#: Why a node shows no forward value: the pass was not recorded, or torch made this tensor
#: inside another call (F.linear's transposed weight), which record() sees only from outside.
NOT_RECORDED = "not recorded: to keep forward values,\nrun the forward pass inside gradviz.record()"
NOT_SEEN = "not recorded: torch made it inside another call,\nwhich gradviz.record() sees only from outside"


def _selectable() -> QLabel:
    return QLabel(wordWrap=True, textInteractionFlags=Qt.TextSelectableByMouse,
                  alignment=Qt.AlignLeft | Qt.AlignTop)


class Inspector(QDockWidget):
    """``inspect(graph, key)``: a node id, a folded module's or run's key, or None for the
    summary, which ``runner`` (:class:`~.workers.Runner`) works out off the GUI thread."""

    SUMMING = "Summing up the graph…"

    def __init__(self, parent, runner):
        super().__init__("Inspector", parent)
        self.runner = runner
        self.setObjectName("inspector")
        self.heading = QLabel(objectName="heading", wordWrap=True)
        self.fields = {f: _selectable() for f in FIELDS}
        form = QFormLayout()
        for f, label in self.fields.items():
            form.addRow(f + ":", label)
        self.value = TensorPanel("Value (forward)")
        self.grad = TensorPanel("Gradient (captured)")
        self.explain = _selectable()
        self.saved = _selectable()
        self.flows = _selectable()
        self.diagnosis = _selectable()
        self.summary = _selectable()
        self._sections = {}
        body = QWidget()
        lay = QVBoxLayout(body)
        lay.addWidget(self.heading)
        lay.addLayout(form)
        self._form = form
        lay.addWidget(self.value)
        lay.addWidget(self.grad)
        for title, widget in (("Diagnosis", self.diagnosis),
                              ("Gradient flows", self.flows),
                              ("Why .grad is empty", self.explain),
                              ("Saved for backward", self.saved)):
            self._sections[widget] = QLabel(title, objectName="section")
            lay.addWidget(self._sections[widget])
            lay.addWidget(widget)
        lay.addWidget(self.summary)
        lay.addStretch(1)  # spare height goes below the content, never between rows
        self._scroll = QScrollArea(widgetResizable=True)
        self._scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self._scroll.setWidget(body)
        self.setWidget(self._scroll)
        self.setMinimumWidth(320)
        self.key = None
        self.graph = None
        self.findings: list[Finding] = []
        self.error: BaseException | None = None
        self.scale: str | None = None

    def set_findings(self, findings: list[Finding], error: BaseException | None,
                     scale: str | None) -> None:
        """The diagnosis of the graph shown: all of it in the summary, a node's own with it;
        ``scale``: the gradient-scale verdict for the summary (worked out off the GUI thread)."""
        self.findings, self.error, self.scale = list(findings), error, scale

    def _fit_body(self) -> None:
        """As tall as the content at the current width, so that the scroll area scrolls.

        Wrapped labels know their height only for a given width, which QScrollArea does not
        ask for; without this it squeezes every row when the content is taller than the dock.
        """
        body = self._scroll.widget()
        layout = body.layout()
        layout.activate()
        body.setMinimumHeight(max(0, layout.totalHeightForWidth(self._scroll.viewport().width())))

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit_body()

    def text(self) -> str:
        """All text the inspector shows now, tables as nested lists (tests and screen readers
        read this)."""
        labels = self.widget().widget().findChildren(QLabel)
        shown = [label.text() for label in labels if label.isVisibleTo(self)]
        return "\n".join(shown + [p.values_text() for p in (self.value, self.grad)
                                  if p.isVisibleTo(self) and p.values_text()])

    def inspect(self, graph: GradGraph | None, key) -> None:
        self.graph, self.key = graph, key
        typed = parse_key(key) if key is not None else None
        node = isinstance(typed, NodeKey)
        for w in (self.value, self.grad, *self.fields.values()):
            w.setVisible(node)
        for i in range(self._form.rowCount()):
            self._form.setRowVisible(i, node)
        self.summary.setVisible(not node)
        if graph is None:
            self._show_text("No graph",
                            "Open a demo, a script or a saved session from the File menu.")
        elif key is None:
            self._show_summary(graph)
        elif isinstance(typed, ModuleKey):
            self._show_module(graph, typed.path)
        elif isinstance(typed, RunKey):  # its run is one of the graph's (see collapse.runs)
            self._show_run(graph, next(r for r in runs(graph) if r.key == key))
        else:
            self._show_node(graph.node(key))
        self._show_section(self.diagnosis, self._diagnosis_text(graph, key if node else None,
                                                                summary=key is None))
        self._fit_body()
        QTimer.singleShot(0, self._fit_body)  # again once the new text has been laid out

    def _show_text(self, heading: str, text: str) -> None:
        self.heading.setText(heading)
        self.summary.setText(text)
        self._show_section(self.explain, "")
        self._show_section(self.saved, "")
        self._show_section(self.flows, "")

    def _show_section(self, widget: QLabel, text: str) -> None:
        widget.setText(text)
        widget.setVisible(bool(text))
        self._sections[widget].setVisible(bool(text))

    def _show_summary(self, graph: GradGraph) -> None:
        """A placeholder now, the summary when the runner has it (0.2 s at 20,000 nodes)."""
        self._show_text("Graph", self.SUMMING)
        self.runner.submit("summary", self.SUMMING, jobs.summary_job(graph, self.scale),
                           lambda text: self._on_summary(graph, text),
                           lambda exc: self._on_summary(graph, f"No summary: {exc}"))

    def _on_summary(self, graph: GradGraph, text: str) -> None:
        if self.graph is graph and self.key is None:  # not moved on meanwhile
            self._show_text("Graph", text)
            self._fit_body()

    def _diagnosis_text(self, graph, node_id, summary: bool) -> str:
        """Every finding (and the exception as raised) for the summary; for a node, the
        findings that point at it."""
        if graph is None or not (summary or node_id is not None):
            return ""
        shown = [f for f in self.findings if summary or node_id in f.nodes]
        text = "\n\n".join("\n".join(f.lines()) for f in shown)
        if summary and self.error is not None:
            text += ("\n\n" if text else "") + f"raised: {raised_text(self.error)}"
        return text

    def _show_module(self, graph: GradGraph, path: str) -> None:
        inside = [m for m in graph.cols.module if within(m, path)]
        self._show_text(path, f"nn.Module {path} (collapsed): {len(inside)} nodes.\n"
                              "Double-click it to expand.")

    def _show_run(self, graph: GradGraph, run) -> None:
        inside = run.inside(flow(graph))
        self._show_text(run.title, f"{run.count} identical blocks of {run.parent} folded as one: "
                                   f"{len(inside)} nodes.\nDouble-click it to open its blocks.")

    def _show_node(self, node: GradNode) -> None:
        self.heading.setText(node.label)
        values = {"name": node.name or "—", "kind": node.kind, "op": node.op,
                  "shape": str(list(node.shape)) if node.shape is not None else "—",
                  "dtype": node.dtype or "—", "device": node.device or "—",
                  "module": node.module or "—", "source": node.source or "—",
                  "order": "not reached" if node.order is None else str(node.order)}
        for f, v in values.items():
            self.fields[f].setText(v)
        self.value.show_snapshot(node.value_snapshot, NOT_SEEN if node.graph.recorded else NOT_RECORDED)
        self.grad.show_snapshot(node.grad_snapshot, "no gradient reached this node"
                                if node.graph.has_grads else "backward not run yet")
        self._show_section(self.flows, describe_flows(node))
        self._show_section(self.explain, explain_node(node, written=False)
                           if node.kind != "leaf" else "")
        saved = node.saved
        self._show_section(self.saved, "\n".join(
            f"{name}: {list(shape) if shape is not None else '—'} {dtype or ''}"
            for name, shape, dtype in saved))
