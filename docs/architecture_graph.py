"""Draw docs/architecture.svg from the code: which room of gradviz imports which.

    .venv/bin/python docs/architecture_graph.py          # writes docs/architecture.svg

grimp (installed with import-linter) reads every import in the package; each module is put
in its room (core, layout, app, demos, the command line, the package's front door) and an
arrow is drawn for each pair of rooms with imports between them, labelled with how many;
an import against the one direction (a lower room reaching up) is red and dashed.
The view model's module is drawn on its own inside core, since every room reads it.
Graphviz's ``dot`` renders the picture.
"""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

import grimp

OUT = Path(__file__).with_name("architecture.svg")
ROOMS = {  # module prefix -> room, the most specific first
    "gradviz.core.viewmodel": "view model\n(core/viewmodel.py)",
    "gradviz.core": "core\n(Qt-free: graph, hooks, folding)",
    "gradviz.layout": "layout\n(Qt-free: positions, files)",
    "gradviz.app": "app\n(Qt: window, player)",
    "gradviz.demos": "demos",
    "gradviz.cli": "cli\n(cli, headless, sources)",
    "gradviz.headless": "cli\n(cli, headless, sources)",
    "gradviz.sources": "cli\n(cli, headless, sources)",
    "gradviz.__main__": "cli\n(cli, headless, sources)",
    "gradviz": "gradviz\n(public API)",
}


def room(module: str) -> str:
    for prefix, name in ROOMS.items():
        if module == prefix or module.startswith(prefix + "."):
            return name
    raise ValueError(f"{module} is in no room: add it to ROOMS")


def edges() -> Counter:
    graph = grimp.build_graph("gradviz")
    found: Counter = Counter()
    for module in graph.modules:
        for imported in graph.find_modules_directly_imported_by(module):
            a, b = room(module), room(imported)
            if a != b:
                found[(a, b)] += 1
    return found


def against(a: str, b: str) -> bool:
    """An import against the one direction (core below layout below app): drawn red."""
    low = {ROOMS["gradviz.core"]: 0, ROOMS["gradviz.core.viewmodel"]: 0,
           ROOMS["gradviz.layout"]: 1}
    return a in low and low.get(b, 2) > low[a]


def dot_source(found: Counter) -> str:
    lines = ["digraph rooms {", "  rankdir=TB; node [shape=box, style=rounded, "
             'fontname=Helvetica, fontsize=11]; edge [fontname=Helvetica, fontsize=9];']
    for name in dict.fromkeys(ROOMS.values()):
        lines.append(f'  "{name}";')
    for (a, b), n in sorted(found.items()):
        style = ', color="#e0301e", fontcolor="#e0301e", style=dashed' if against(a, b) else ""
        lines.append(f'  "{a}" -> "{b}" [label="{n}"{style}];')
    lines.append("}")
    return "\n".join(lines) + "\n"


def main() -> int:
    svg = subprocess.run(["dot", "-Tsvg"], input=dot_source(edges()), capture_output=True,
                         text=True, check=True).stdout
    OUT.write_text(svg)
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
