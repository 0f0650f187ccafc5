"""The tensors an autograd Node saved for backward: names and shapes, for the inspector."""

from __future__ import annotations

from .internals import FREED, PACKED, saved_values, saved_values_hold_all, version
from .memory import storage_of


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


def saved_with_storages(fn, packed: bool,
                        versions: list | None = None) -> tuple[list, tuple | None]:
    """:func:`saved_tensors` of a Node just made, and in the same walk (address, bytes) of
    the storage behind each tensor it saved, flat (None, 0 for one without ordinary
    storage): what ``record()`` keeps, so that measuring memory (:func:`.memory.measure`)
    walks nothing again. Storages None: not taken here (packed by saved-tensor hooks, or held
    where :func:`saved_values` does not look); measuring reads that Node itself. Flat on
    purpose: it runs for every op under ``record()``, and fewer small tuples there mean
    fewer runs of the garbage collector. ``versions``: as for :func:`saved_tensors`."""
    if packed or not saved_values_hold_all(fn):
        return saved_tensors(fn, packed, versions), None
    listing, storages = [], []
    for name, value in saved_values(fn, False):
        if hasattr(value, "shape") and hasattr(value, "dtype"):
            tensors = ((name, value),)
        elif isinstance(value, tuple) and value and all(hasattr(v, "shape") for v in value):
            tensors = [(f"{name}[{i}]", v) for i, v in enumerate(value)]
        else:
            continue
        for listed, t in tensors:
            listing.append((listed, tuple(t.shape), str(t.dtype).removeprefix("torch.")))
            storages.extend(storage_of(t) or (None, 0))
            if versions is not None:
                versions.append(version(t))
    return listing, tuple(storages)
