"""``gradviz export SOURCE -o FILE``: a picture or data file without a window.

Every failure a user can cause (a missing file, a script that raises or never calls
backward, a bad suffix or folder, a pass that does not exist) ends as one line on stderr
and exit status 1; a script's own traceback is printed above that line, trimmed to its
frames. When the script's backward raised, the pass that raised is still written and the
diagnosis (:mod:`gradviz.core.diagnosis`) is printed between the two; a script that runs
through gets one ``gradviz: warning:`` line per warning finding (unused parameters, NaN). Ctrl+C is one line and exit status 130. The output path is fixed before the script
runs (a script may ``os.chdir``), and the script runs on the main thread with room for a
deep graph's stack (see ``on_big_stack``). Progress goes to stderr once an export has taken a
second, only on a terminal.
gradviz's own warnings (``dot`` timed out, Graphviz missing) are one line each too.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
import warnings
from pathlib import Path

from .core.budget import DEFAULT_BUDGET, BudgetError, parse_budget
from .core.diagnosis import Severity, diagnose
from .core.diff import MEASURES, compare
from .core.errors import GradvizError, GradvizWarning
from .core.runfile import save
from .core.ranks import RanksError, parse_ranks, rank_path, traced_here
from .core.runner import ScriptError, on_big_stack
from .core.steps import READABLE_NODES, lecture_labels
from .core.viewmodel import Colouring, ViewModel
from .layout.export import ExportError, check_path, export, model_for
from .layout.steps import export_steps
from .sources import SESSION_SUFFIX, open_source, runner_options


#: The history kept in memory before older passes' go to the run file (``--history-memory``).
HISTORY_MEMORY = 2**30


class Progress:
    """``(stage, fraction)`` callback: quiet for the first second, when piped, with --quiet."""

    DELAY = 1.0

    def __init__(self, quiet: bool, stream=None):
        self.stream = stream or sys.stderr
        self.on = not quiet and self.stream.isatty()
        self.start = time.monotonic()
        self.shown = False

    def __call__(self, stage: str, fraction: float | None = None) -> None:
        elapsed = time.monotonic() - self.start
        if not self.on or elapsed < self.DELAY:
            return
        how_far = f" {fraction:4.0%}" if fraction is not None else ""
        self.stream.write(f"\r\x1b[K[{elapsed:5.1f} s]{how_far} {stage}")
        self.stream.flush()
        self.shown = True

    def finish(self) -> None:
        if self.shown:
            self.stream.write("\n")


def _pick(passes, number: int | None, output: str | None, calls: int | None = None):
    """The pass to export: the newest, ``--pass N`` (N-th backward call; negative counts
    from the newest kept), and/or the newest whose output is named ``--output``. ``calls``:
    the backward calls the script made, traced or not (``--every``)."""
    candidates = passes
    if number is not None:
        if number < 0:
            candidates = passes[number:number + 1 or None] if -number <= len(passes) else []
        else:
            candidates = [g for g in passes if g.info.get("index", 1) == number]
        if not candidates:
            kept = [g.info.get("index", 1) for g in passes]
            total = calls or max(kept)
            made = f"the script made {total} backward pass{'es' if total > 1 else ''}"
            if len(kept) < total:
                which = (f"passes {min(kept)} to {max(kept)}" if len(kept) > 2 and
                         max(kept) - min(kept) + 1 == len(kept) else ", ".join(map(str, kept)))
                made += f", of which {which} are kept"
            raise ExportError(f"there is no pass {number}: {made}")
    if output is not None:
        named = [g for g in candidates
                 if any(output in (n.name or "").split(", ") for n in g.outputs)]
        if not named:
            names = sorted({n.name or n.op for g in candidates for n in g.outputs})
            raise ExportError(f"no backward pass from a tensor named {output!r}; "
                              f"outputs: {', '.join(names)}")
        candidates = named
    return candidates[-1]


def _model(args, graph) -> ViewModel:
    """The picture the command line asks for: folding, labels, theme and colouring."""
    collapsed = "auto"
    if args.expand:
        collapsed = ()
    elif args.collapse and args.collapse != ["auto"]:
        collapsed = [p for p in args.collapse if p != "auto"]
    labels = lecture_labels(graph, args.labels) if args.steps else args.labels or "compact"
    return model_for(graph, labels=labels, collapsed=collapsed, theme=args.theme,
                     color_by="grad_norm" if args.grad_norm else "memory" if args.memory
                     else None)


def _run_untraced(args, progress: Progress) -> None:
    """A rank left out of ``--ranks``: the script runs as without gradviz."""
    open_source(args.source, args.args, first=0)


def _compared(args, result) -> ViewModel:
    """``--diff A:B``: the two passes compared, drawn in the diff colouring."""
    a, b = (_pick(result.passes, n, args.output, result.calls) for n in args.diff)
    diff = compare(a, b, names=tuple(f"pass {g.info.get('index', 1)}" for g in (a, b)))
    return _model(args, diff.graph).changed(colouring=Colouring.DIFF,
                                            diff_measure=args.diff_of)


def _save_run(args, progress: Progress) -> None:
    """``-o run.gradviz``: every kept pass and the history, older history spilled to that
    file while the script runs (past ``--history-memory``)."""
    path = Path(args.output_file)
    if not path.parent.is_dir():
        raise ExportError(f"cannot write {path}: the folder {path.parent} does not exist")
    progress("running " + args.source, None)
    result = open_source(args.source, args.args, progress=progress, spill=path,
                         **runner_options(args))
    if result.run is None:  # a session: one pass, no history
        save(result.passes[-1], path)
    elif not result.run.passes:
        raise ExportError(f"no pass was traced (--first 0), so there is nothing to write to "
                          f"{path}")
    else:
        save(result.run, path)


def _export(args, progress: Progress) -> None:
    if args.steps and args.diff:
        raise ExportError("--diff draws one picture of two passes; it does not take --steps")
    if Path(args.output_file).suffix.lower() == SESSION_SUFFIX and not args.diff:
        return _save_run(args, progress)
    if not args.steps:
        check_path(args.output_file)
    progress("running " + args.source, None)
    try:
        result = open_source(args.source, args.args, progress=progress, **runner_options(args))
    except ScriptError as err:
        if err.graph is not None:  # the pass whose backward raised: drawn all the same
            try:
                _write(args, err.graph, progress)
                err.wrote = args.output_file
            except GradvizError as drawing:  # the script's error stays the one reported
                err.wrote = None
                print(f"gradviz: warning: could not draw the pass that raised: {drawing}",
                      file=sys.stderr)
        raise
    if args.diff:
        model = _compared(args, result)
        if Path(args.output_file).suffix.lower() == ".json":
            data = json.dumps(model.graph.diff.to_dict(args.diff_of), allow_nan=False)
            Path(args.output_file).write_text(data)
        else:
            export(model, args.output_file, dpi=args.dpi, progress=progress,
                   title=args.title, scale=args.scale)
        return
    graph = _pick(result.passes, args.pass_number, args.output, result.calls)
    _write(args, graph, progress)
    for finding in diagnose(graph):
        if finding.severity is Severity.WARNING:
            print(f"gradviz: warning: {finding.title}", file=sys.stderr)


def _write(args, graph, progress: Progress) -> None:
    model, options = _model(args, graph), {"title": args.title, "scale": args.scale}
    if args.steps:
        export_steps(model, args.output_file, args.steps, progress=progress, **options)
    else:
        export(model, args.output_file, dpi=args.dpi, progress=progress, **options)


def _print_findings(findings) -> None:
    """Each finding as ``gradviz: title`` and its further lines indented below."""
    for finding in findings:
        first, *rest = finding.lines()
        print(f"gradviz: {first}", file=sys.stderr)
        for line in rest:
            print(f"gradviz:   {line}", file=sys.stderr)


def _one_line_warnings():
    """gradviz's own warnings as ``gradviz: warning: ...`` lines; the script's as Python
    shows them."""
    shown = warnings.showwarning

    def show(message, category, *args, **kwargs):
        if issubclass(category, GradvizWarning):
            print(f"gradviz: warning: {message}", file=sys.stderr)
        else:
            shown(message, category, *args, **kwargs)

    return show


def untraced_rank_command(args) -> int:
    """``gradviz run|export`` on a rank that ``--ranks`` leaves out: the script alone."""
    args.source, args.quiet = getattr(args, "source", None) or args.script, True
    return export_command(args)


def export_command(args) -> int:
    progress = Progress(args.quiet)
    traced = traced_here(args.ranks)
    if traced:
        args.output_file = os.path.abspath(rank_path(args.output_file))
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _one_line_warnings()
            on_big_stack(_export if traced else _run_untraced, args, progress)
    except KeyboardInterrupt:
        progress.finish()
        print("gradviz: interrupted", file=sys.stderr)
        return 130
    except ScriptError as err:
        progress.finish()
        if err.traceback:
            sys.stderr.write(err.traceback)
        _print_findings(err.findings)
        print(f"gradviz: error: {err}", file=sys.stderr)
        if getattr(err, "wrote", None) and not args.quiet:
            print(f"wrote {err.wrote} (the pass whose backward raised)", file=sys.stderr)
        return 1
    except (GradvizError, FileNotFoundError) as err:
        progress.finish()
        print(f"gradviz: error: {err}", file=sys.stderr)
        return 1
    progress.finish()
    if traced and not args.quiet:
        print(f"wrote {args.output_file}", file=sys.stderr)
    return 0


def _positive(text: str) -> float:
    """A size factor: a finite number above zero (argparse refuses anything else)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a number above 0, not {text}")
    return value


def add_export_options(p) -> None:
    """The ``gradviz export`` options (cli.py builds the subcommand, this fills it)."""
    p.add_argument("source", help="a Python script, a demo name, or a saved .gradviz session")
    p.add_argument("-o", "--output-file", required=True, metavar="FILE",
                   help="the file to write: .svg .png .pdf .dot .json (.pdf with --steps); "
                        ".gradviz: every kept pass and the history (a run file)")
    p.add_argument("--labels", choices=("compact", "full", "values"),
                   help="node text: names and ops; plus shapes and dtypes; plus values and "
                        "gradients of tiny tensors (default: compact; with --steps, values on "
                        f"graphs of up to {READABLE_NODES} nodes)")
    p.add_argument("--collapse", action="append", metavar="MODULE",
                   help="fold this nn.Module (repeatable); 'auto' (default) folds big "
                        "recorded graphs by module as the app's first picture does")
    p.add_argument("--expand", action="store_true", help="draw every autograd node")
    colour = p.add_mutually_exclusive_group()
    colour.add_argument("--grad-norm", action="store_true",
                        help="colour nodes by the log of their gradient's norm, with a legend")
    colour.add_argument("--memory", action="store_true",
                        help="colour nodes by the bytes their ops saved for backward (log "
                             "scale), folded modules with their totals, with a legend")
    p.add_argument("--theme", choices=("light", "dark"), default="light")
    p.add_argument("--dpi", type=_positive, default=96.0, help="PNG resolution (default 96)")
    p.add_argument("--scale", type=_positive, default=1.0, help="size factor for SVG and PNG")
    p.add_argument("--title", help="a title above the picture")
    p.add_argument("--pass", dest="pass_number", type=int, metavar="N",
                   help="export the N-th backward pass the script made (default: the last; "
                        "-1 the last, -2 the one before)")
    p.add_argument("--output", metavar="NAME",
                   help="export the pass whose output tensor is the variable NAME")
    p.add_argument("--diff", type=_pass_pair, metavar="A:B",
                   help="compare backward pass A with pass B (numbers as --pass: 3:7, "
                        "--diff=-2:-1): nodes coloured by log10 of the norm ratio, nodes only one pass had "
                        "drawn apart; .json writes every node's norms and ratio")
    p.add_argument("--diff-of", choices=MEASURES, default="grad",
                   help="with --diff: compare gradient norms (default) or forward value norms")
    p.add_argument("--steps", choices=("forward", "backward"),
                   help="a PDF with one page per forward or backward step")
    p.add_argument("--quiet", action="store_true", help="no progress, no summary line")
    add_budget_option(p)
    p.set_defaults(args=[])  # the script's own arguments: everything after `--`


def _pass_pair(text: str) -> tuple[int, int]:
    """``"3:7"`` -> (3, 7); negative numbers count from the newest kept pass."""
    a, sep, b = text.partition(":")
    try:
        if not sep:
            raise ValueError
        return int(a), int(b)
    except ValueError:
        raise argparse.ArgumentTypeError(f"takes two pass numbers A:B such as 1:5 or -2:-1, "
                                         f"not {text!r}") from None


def _count(least: int):
    def count(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
        if value < least:
            raise argparse.ArgumentTypeError(f"must be at least {least}, not {value}")
        return value
    return count


def _ranks(text: str):
    try:
        return parse_ranks(text)
    except RanksError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def add_budget_option(p) -> None:
    """``--budget SIZE`` for ``gradviz run`` and ``gradviz export``: as ``trace(budget=...)``."""
    def size(text: str) -> int:
        try:
            return parse_budget(text)
        except BudgetError as err:
            raise argparse.ArgumentTypeError(str(err)) from None

    p.add_argument("--budget", type=size, default=DEFAULT_BUDGET, metavar="SIZE",
                   help="memory for whole gradients per pass, e.g. 1GiB (default 256MiB); "
                        "past it, gradients are kept as norm and sample")
    p.add_argument("--every", type=_count(1), default=1, metavar="K",
                   help="trace every K-th backward pass, the first included (default 1); the "
                        "others run with no hooks and no recording")
    p.add_argument("--first", type=_count(0), metavar="N",
                   help="stop tracing after N traced passes; the script runs on untouched")
    p.add_argument("--ranks", type=_ranks, default=frozenset({0}), metavar="LIST",
                   help="under torchrun: the ranks that trace, e.g. 0,1 or all (default 0); "
                        "the others run the script untouched. Files get the rank in their "
                        "name: out.rank1.json")
    p.add_argument("--history-memory", type=size, default=HISTORY_MEMORY, metavar="SIZE",
                   help="memory for the per-pass history (default 1GiB); exporting to a "
                        ".gradviz run file, older history goes to the file past it")
    p.add_argument("--flows", action="store_true", default=None,
                   help="capture the gradient along every edge on any graph (default: on "
                        "graphs of up to 5,000 autograd nodes)")
