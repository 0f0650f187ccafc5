"""Where a graph comes from: a script (run and traced), a lecture demo, or a saved session.

One entry point for ``gradviz export``, ``gradviz run`` and the app's File menu, so all of
them accept the same things and fail with the same one-line messages.
"""

from __future__ import annotations

from pathlib import Path

from . import demos
from .core.errors import GradvizError
from .core.runner import RunResult, run_script
from .core.runfile import LoadedRun, load
from .core.session import SessionError

SESSION_SUFFIX = ".gradviz"


class SourceError(GradvizError, ValueError):
    """SOURCE is neither a readable script, a demo name nor a session; one clear line."""


def _session(path: Path) -> RunResult:
    """A session (one pass) or a run file (its kept passes and history)."""
    try:
        opened = load(path)
    except SessionError as err:
        raise SourceError(f"cannot open {path}: {err}") from None
    except OSError as err:
        raise SourceError(f"cannot open {path}: {err.strerror or err}") from None
    if isinstance(opened, LoadedRun):
        if not opened.passes:
            raise SourceError(f"cannot open {path}: the run file keeps no pass to show, only "
                              "the history (gradviz.load reads it)")
        return RunResult(passes=opened.passes, script=str(path), calls=opened.steps, run=opened)
    opened.info.setdefault("session", str(path))
    return RunResult(passes=[opened], script=str(path), calls=1)


def open_source(spec, argv=(), **run_options) -> RunResult:
    """``spec``: a ``.py`` script, a demo name (``linear``) or a ``.gradviz`` session.

    ``run_options`` go to :func:`gradviz.core.runner.run_script` (keep, cap, progress,
    should_stop). Script errors come out as ``ScriptError`` / ``NoBackwardError``.
    """
    path = Path(spec)
    if path.suffix == SESSION_SUFFIX:
        if not path.is_file():
            raise SourceError(f"no such session file: {spec}")
        return _session(path)
    if path.is_dir() and (path.suffix or "/" in str(spec) or "\\" in str(spec)):
        raise SourceError(f"cannot open {spec}: it is a folder, not a Python script")
    if path.is_file():
        if path.suffix not in (".py", ""):
            raise SourceError(f"cannot open {spec}: expected a Python script (.py), a demo "
                              f"name or a {SESSION_SUFFIX} session")
        return run_script(path, argv, **run_options)
    if path.suffix or "/" in str(spec) or "\\" in str(spec):
        raise SourceError(f"no such file: {spec}")
    try:
        demo = demos.find(str(spec))
    except KeyError:
        names = ", ".join(d.name for d in demos.catalog())
        raise SourceError(f"{spec!r} is neither a file nor a demo (demos: {names})") from None
    return run_script(demo.path, argv, **run_options)


def runner_options(args) -> dict:
    """What ``gradviz run`` and ``gradviz export`` pass on to the script runner."""
    return {"budget": args.budget, "flows": args.flows, "every": args.every, "first": args.first,
            "history_memory": args.history_memory}
