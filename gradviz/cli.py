"""The ``gradviz`` command: the app, lecture demos, script runs and headless export."""

from __future__ import annotations

import argparse
import sys

from .core.ranks import traced_here
from .headless import add_budget_option, add_export_options, export_command, untraced_rank_command

EPILOG = """\
examples:
  gradviz                              the demo gallery
  gradviz demo linear --select Z       the seed example with Z selected
  gradviz run train.py --lr 0.1        run a script unchanged; every backward() is traced
  gradviz export train.py -o g.svg     headless: .svg .png .pdf .dot .json
  gradviz export mlp --steps backward -o steps.pdf   one PDF page per backward step
  gradviz export train.py -o run.gradviz          headless: every kept pass and the history
  gradviz export train.py --diff 1:5 -o d.svg     pass 1 and pass 5 compared
  gradviz open run.rank0.gradviz run.rank1.gradviz   open files later, compare the ranks

in the window: click selects, drag pans, wheel or +/- zooms about the cursor, F fits,
  Ctrl+F searches, L highlights upstream/downstream, H colours by gradient norm,
  Ctrl+N jumps to the first NaN, double-click folds a module (Help lists every key)
"""


def _window_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--select", metavar="NODE", help="select this node (name or op) on opening")
    p.add_argument("--screenshot", metavar="FILE", help="save the window (.png/.svg/.pdf) and exit")
    p.add_argument("--step", type=int, metavar="N", help="open the player at step N")
    p.add_argument("--theme", choices=("light", "dark"), default="light", help="window colours")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gradviz", description="See how gradients flow through a PyTorch computation.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command")

    demo = sub.add_parser("demo", help="open a lecture demo")
    demo.add_argument("name", nargs="?", default="linear")
    demo.add_argument("--list", action="store_true", help="list the demos and exit")
    _window_options(demo)

    run = sub.add_parser("run", help="run a script unchanged and open its traced backward passes")
    run.add_argument("script")
    run.add_argument("args", nargs=argparse.REMAINDER, help="passed to the script as sys.argv[1:]")
    add_budget_option(run)
    _window_options(run)

    open_ = sub.add_parser("open", help="open saved sessions or run files; several (a run's "
                           "rank files) to compare them")
    open_.add_argument("files", nargs="+", metavar="FILE")
    _window_options(open_)

    export = sub.add_parser(
        "export", help="write a picture or data file without a window",
        description="Write a picture or data file without a window. Arguments after `--` "
                    "go to the script: gradviz export train.py -o g.svg -- --lr 0.1")
    add_export_options(export)
    return parser


def run_options() -> set[str]:
    """``gradviz run``'s own options, read from its parser (``--screenshot``, ...)."""
    defaults = vars(build_parser().parse_args(["run", "script.py"]))
    return {"--" + k.replace("_", "-") for k in defaults if k not in ("command", "script", "args")}


def misplaced_hint(args) -> str | None:
    """``put gradviz's options before the script: gradviz run ...`` when the script's
    arguments hold gradviz's window options; None when they hold none."""
    if getattr(args, "command", None) != "run":
        return None
    options = run_options()
    ours, theirs, rest = [], [], list(args.args)
    while rest:
        arg = rest.pop(0)
        name = arg.partition("=")[0]
        if name not in options:
            theirs.append(arg)
        elif "=" in arg or not rest:
            ours.append(arg)
        else:
            ours += [arg, rest.pop(0)]
    if not ours:
        return None
    command = " ".join(["gradviz run", *ours, args.script, *theirs])
    return f"put gradviz's options before the script: {command}"


def _parse(argv: list[str]) -> argparse.Namespace:
    """``gradviz export`` passes everything after ``--`` to the script untouched."""
    script_args: list[str] = []
    if argv[:1] == ["export"] and "--" in argv:
        cut = argv.index("--")
        argv, script_args = argv[:cut], argv[cut + 1:]
    args = build_parser().parse_args(argv)
    if args.command == "export":
        args.args = script_args
    return args


def main(argv: list[str] | None = None) -> int:
    args = _parse(sys.argv[1:] if argv is None else list(argv))
    if args.command == "export":
        return export_command(args)
    if args.command == "run" and not traced_here(args.ranks):
        return untraced_rank_command(args)
    try:
        from .app.launch import launch  # lazy: Qt loads for the window only, not for export

        return launch(args, misplaced_hint(args))
    except KeyboardInterrupt:  # Ctrl+C before the window's event loop took over
        print("gradviz: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
