"""The user's lines a finding names: where an exception came from, and the code on a line."""

from __future__ import annotations

import io
import linecache
import os
import sys
import tokenize
import traceback

from ..userframe import is_library


def raised_at(exc: BaseException | None) -> str | None:
    """``train.py:14``: the innermost line of the user's code in ``exc``'s traceback (the
    ``loss.backward()`` that failed), None without one."""
    if exc is None or exc.__traceback__ is None:
        return None
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if not is_library(frame.filename):
            return f"{os.path.basename(frame.filename)}:{frame.lineno}"
    return None


def backward_roots(exc: BaseException | None) -> list:
    """The tensors the failed ``backward``/``autograd.grad`` call differentiated, read from
    the exception's traceback (torch's own ``backward(tensors, ...)`` frame holds them)."""
    tb = exc.__traceback__ if exc is not None else None
    while tb is not None:
        code = tb.tb_frame.f_code
        if code.co_name in ("backward", "grad") and is_library(code.co_filename):
            local = tb.tb_frame.f_locals
            roots = local.get("tensors", local.get("outputs"))
            if roots is not None:
                return [roots] if not isinstance(roots, (list, tuple)) else list(roots)
        tb = tb.tb_next
    return []


def _paths(name: str, script: str | None) -> list[str]:
    """Files called ``name``: beside the script that ran, then any module loaded or shown."""
    found = [os.path.join(os.path.dirname(script), name)] if script else []
    found += [path for path in list(linecache.cache) if os.path.basename(path) == name]
    found += [path for module in list(sys.modules.values())
              if (path := getattr(module, "__file__", None) or "")
              and os.path.basename(path) == name]
    return found


def _without_comment(code: str) -> str:
    """``y.mul_(2)  # in place`` -> ``y.mul_(2)``, so that a fix quoting it reads as code; a
    ``#`` inside a string stays."""
    try:
        for token in tokenize.generate_tokens(io.StringIO(code).readline):
            if token.type == tokenize.COMMENT:
                return code[:token.start[1]].rstrip()
    except (tokenize.TokenError, SyntaxError):  # one line of a longer statement
        pass
    return code


def code_at(where: str | None, script: str | None = None) -> str | None:
    """The code on the line ``train.py:12`` (stripped, without its comment), read from the
    file; None when it cannot be found. ``script``: the path of the script that ran, to look
    beside."""
    if not where or ":" not in where:
        return None
    name, _, number = where.rpartition(":")
    if not number.isdigit():
        return None
    for path in _paths(name, script):
        text = _without_comment(linecache.getline(path, int(number)).strip())
        if text:
            return text
    return None
