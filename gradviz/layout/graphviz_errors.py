"""What running Graphviz can raise: its own module, so that the runner and the resident
``dot`` process (:mod:`.resident`) both import it without importing each other."""

from __future__ import annotations

from gradviz.core.errors import GradvizError

INSTALL_HINT = ("Graphviz's `dot` program is not installed (gradviz needs the program, not only "
                "the Python package). Install it: Debian/Ubuntu `sudo apt-get install graphviz`, "
                "macOS `brew install graphviz`, conda `conda install graphviz`.")


class GraphvizMissing(GradvizError, RuntimeError):
    """``dot`` is not on PATH."""

    def __init__(self):
        super().__init__(INSTALL_HINT)


class GraphvizFailed(GradvizError, RuntimeError):
    """``dot`` ran but failed, or ran past its timeout."""


class Cancelled(GradvizError):
    """``should_stop`` asked to stop."""
