"""The tensors an autograd Node saved for backward: names and shapes, for the inspector."""

from __future__ import annotations

from .internals import FREED, PACKED, saved_values, version


def saved_tensors(fn, packed: bool | None = None,
                  versions: list | None = None) -> list[tuple[str, tuple | None, str | None]]:
    """(name, shape, dtype) of each saved tensor; shape None once backward freed it, or when a
    saved-tensor hook packed it (checkpointing): gradviz never unpacks one to look.
    ``packed``: as for :func:`~gradviz.core.internals.saved_values`. ``versions``: a list
    that gets each entry's version counter (None where unread): what an in-place write
    changes, and what backward checks (see :mod:`gradviz.core.diagnoses.inplace`)."""
    if fn is None:
        return []
    out = []
    for name, value in saved_values(fn, packed):
        if value is FREED or value is PACKED:
            out.append((name, None, None))
            if versions is not None:
                versions.append(None)
        elif hasattr(value, "shape") and hasattr(value, "dtype"):
            out.append((name, tuple(value.shape), str(value.dtype).removeprefix("torch.")))
            if versions is not None:
                versions.append(version(value))
        elif isinstance(value, tuple) and value and all(hasattr(v, "shape") for v in value):
            for i, v in enumerate(value):
                out.append((f"{name}[{i}]", tuple(v.shape), str(v.dtype).removeprefix("torch.")))
                if versions is not None:
                    versions.append(version(v))
    return out
