"""The tensors an autograd Node saved for backward: names and shapes, for the inspector."""

from __future__ import annotations

from .internals import FREED, PACKED, saved_values, saved_values_hold_all
from .memory import PLAIN, storage_of


def _entries(values):
    """(name as listed, tensor or None) per saved tensor: None once freed or packed."""
    for name, value in values:
        if value is FREED or value is PACKED:
            yield name, None
        elif hasattr(value, "shape") and hasattr(value, "dtype"):
            yield name, value
        elif isinstance(value, tuple) and value and all(hasattr(v, "shape") for v in value):
            for i, v in enumerate(value):
                yield f"{name}[{i}]", v


def _listed(name: str, t) -> tuple[str, tuple | None, str | None]:
    return (name, None, None) if t is None else (
        name, tuple(t.shape), str(t.dtype).removeprefix("torch."))


def saved_tensors(fn, packed: bool | None = None) -> list[tuple[str, tuple | None, str | None]]:
    """(name, shape, dtype) of each saved tensor; shape None once backward freed it, or when a
    saved-tensor hook packed it (checkpointing): gradviz never unpacks one to look.
    ``packed``: as for :func:`~gradviz.core.internals.saved_values`."""
    if fn is None:
        return []
    return [_listed(name, t) for name, t in _entries(saved_values(fn, packed))]


def saved_with_storages(fn, packed: bool) -> tuple[list, tuple | None]:
    """:func:`saved_tensors` of a Node just made, and in the same walk (address, bytes) of
    the storage behind each tensor it saved, flat (None, 0 for one without ordinary
    storage): what ``record()`` keeps, so that measuring memory (:func:`.memory.measure`)
    walks nothing again. Storages None: not taken here (packed by saved-tensor hooks, or held
    where :func:`saved_values` does not look); measuring reads that Node itself. Flat on
    purpose: it runs for every op under ``record()``, and fewer small tuples there mean
    fewer runs of the garbage collector."""
    if packed or not saved_values_hold_all(fn):
        return saved_tensors(fn, packed), None
    listing, storages = [], []
    for name, value in saved_values(fn, False):
        for listed, t in ((name, value),) if type(value) in PLAIN else _entries(((name, value),)):
            listing.append(_listed(listed, t))
            storages.extend(storage_of(t) or (None, 0))
    return listing, tuple(storages)
