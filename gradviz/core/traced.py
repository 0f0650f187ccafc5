"""Every graph traced in this process and still alive, so ``explain`` can find a tensor's."""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .graph import GradGraph

#: Trace number -> graph, newest last; an entry goes when its graph is collected.
live_graphs: "weakref.WeakValueDictionary[int, GradGraph]" = weakref.WeakValueDictionary()
