"""Recently opened files, kept across runs in QSettings (newest first, missing files dropped)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings

MAX_RECENT = 10
KEY = "recent_files"


def settings() -> QSettings:
    return QSettings("gradviz", "gradviz")


def recent_files() -> list[str]:
    paths = settings().value(KEY, []) or []
    if isinstance(paths, str):  # QSettings returns a lone string for a one-item list
        paths = [paths]
    return [p for p in paths if Path(p).exists()]


def add_recent(path) -> None:
    path = str(Path(path).resolve())
    paths = [path] + [p for p in recent_files() if p != path]
    settings().setValue(KEY, paths[:MAX_RECENT])
