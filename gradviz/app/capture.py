"""Save a widget as it looks on screen: PNG (pixels), SVG or PDF (vector, via Qt's painters).

Used for ``--screenshot`` (the whole window) and for File ▸ Export view (the graph view as
seen, with selection and highlights).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QMarginsF, QPoint, QRect, QSizeF
from PySide6.QtGui import QPageLayout, QPageSize, QPainter, QPdfWriter
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import QWidget

FORMATS = (".png", ".svg", ".pdf")


def save_widget(widget: QWidget, path) -> Path:
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(f"cannot save a window as {suffix or 'a file without suffix'}: "
                         f"use one of {', '.join(FORMATS)}")
    size = widget.size()
    if suffix == ".png":
        if not widget.grab().save(str(path), "PNG"):
            raise OSError(f"could not write {path}")
        return path
    if suffix == ".svg":
        device = QSvgGenerator()
        device.setFileName(str(path))
        device.setSize(size)
        device.setViewBox(QRect(0, 0, size.width(), size.height()))
        device.setTitle(widget.windowTitle() or "gradviz")
    else:
        device = QPdfWriter(str(path))
        device.setResolution(96)
        points = QSizeF(size.width() * 72 / 96, size.height() * 72 / 96)  # one page, widget-sized
        device.setPageLayout(QPageLayout(QPageSize(points, QPageSize.Point),
                                         QPageLayout.Portrait, QMarginsF(0, 0, 0, 0)))
    painter = QPainter(device)
    try:
        widget.render(painter, QPoint(0, 0))
    finally:
        painter.end()
    return path
