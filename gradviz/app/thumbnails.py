"""Small pictures of the demos' graphs, for the gallery's cards: shipped, never made at start.

A picture means running the demo and laying its graph out with Graphviz: seconds of work that
would be the same on every machine. So they are drawn once by a developer and shipped in
``resources/thumbnails/<theme>/<demo>.png``; ``sources.json`` beside them holds the SHA-256 of
the DOT source each was drawn from, and a test that compares it with the current DOT says when
they are stale (``pytest tests/app/test_gallery.py --update-golden`` draws them again).
"""

from __future__ import annotations

from PySide6.QtCore import QSize
from PySide6.QtGui import QImage

from .themes import resource

#: The card's picture area in pixels: 200 x 110 at twice the density, sharp on HiDPI screens.
SIZE = QSize(400, 220)
DENSITY = 2.0
SOURCES = "thumbnails/sources.json"


def path(theme: str, demo: str):
    return resource(f"thumbnails/{theme}/{demo}.png")


def load_job(theme: str, demos: list[str]):
    """A Runner job: each demo's picture, decoded off the GUI thread (a null image if none)."""
    files = {demo: str(path(theme, demo)) for demo in demos}

    def job(progress, should_stop):
        images = {}
        for demo, file in files.items():
            image = QImage(file)
            image.setDevicePixelRatio(DENSITY)
            images[demo] = image
        return images

    return job
