"""Errors shown to the user: a dialog with the message, and the traceback one click away."""

from __future__ import annotations

import traceback

from PySide6.QtWidgets import QMessageBox, QWidget


def error_text(exc: BaseException) -> tuple[str, str]:
    """(one-line message, details): a script's own trimmed traceback when it carries one."""
    details = getattr(exc, "traceback", None) or "".join(
        traceback.format_exception(type(exc), exc, exc.__traceback__))
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return message, details


def raised_text(exc: BaseException) -> str:
    """``RuntimeError: message`` as Python prints it; a ScriptError's message already says
    what the script raised (``train.py raised RuntimeError: ...``)."""
    message = error_text(exc)[0]
    if getattr(exc, "traceback", None) is not None:
        return message
    return f"{type(exc).__name__}: {message}"


def show_error(parent: QWidget, title: str, exc: BaseException) -> QMessageBox:
    """A non-modal dialog (the app stays usable, tests can read it); returns the box."""
    message, details = error_text(exc)
    box = QMessageBox(QMessageBox.Warning, title, message, QMessageBox.Close, parent)
    box.setObjectName("error")
    box.setDetailedText(details)
    box.setInformativeText(details if len(details) < 1500 else details[-1500:])
    box.open()
    return box
