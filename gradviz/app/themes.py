"""Light and dark themes: a style sheet from ``gradviz.resources`` plus the view's own colours.

Node, cluster and background colours belong to the layout (``layout(theme=...)``) so that
exports and the window agree; the app adds only what a file never shows: selection marks.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import files

from PySide6.QtGui import QIcon


@dataclass(frozen=True)
class Theme:
    name: str
    accent: str  # the selected node and its edges
    related: str  # upstream / downstream of the selection


THEMES = {
    "light": Theme("light", "#e8590c", "#1971c2"),
    "dark": Theme("dark", "#ffa94d", "#74c0fc"),
}


def resource(name: str):
    """A file shipped in the package ``gradviz.resources`` (works from a wheel too)."""
    return files("gradviz.resources").joinpath(name)


def style_sheet(theme: str) -> str:
    return resource(f"{theme}.qss").read_text(encoding="utf-8")


def icon(name: str) -> QIcon:
    return QIcon(str(resource(f"{name}.svg")))
