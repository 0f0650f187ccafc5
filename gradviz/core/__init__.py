"""gradviz's Qt-free core: capture the autograd graph and its gradients as plain data."""

from .explain import explain
from .graph import GradGraph, GradNode, SummarisedGradError
from .record import record
from .runfile import load, save
from .session import SessionError
from .snapshot import Snapshot
from .trace import TraceError, trace
from .errors import GradvizError, GradvizWarning

__all__ = ["GradGraph", "GradNode", "GradvizError", "GradvizWarning", "SessionError", "Snapshot",
           "SummarisedGradError", "TraceError", "explain", "load", "record", "save", "trace"]
