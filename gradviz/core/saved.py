"""The tensors an autograd Node saved for its backward: names and shapes, for the inspector."""

from __future__ import annotations

from itertools import islice

_ATTRS: dict[type, tuple[str, ...]] = {}


def _saved_attrs(fn) -> tuple[str, ...]:
    kind = type(fn)
    attrs = _ATTRS.get(kind)
    if attrs is None:
        attrs = tuple(
            a for a in dir(fn)
            if a.startswith("_saved_") and not a.endswith(("_sym_sizes", "_sym_strides"))
        )
        _ATTRS[kind] = attrs
    return attrs


def saved_tensors(fn) -> list[tuple[str, tuple | None, str | None]]:
    """(name, shape, dtype) of each saved tensor; shape None once backward freed it."""
    if fn is None:
        return []
    out = []
    for attr in _saved_attrs(fn):
        name = attr.removeprefix("_saved_")
        try:
            value = getattr(fn, attr)
        except RuntimeError:  # freed by backward (retain_graph=False)
            out.append((name, None, None))
            continue
        if hasattr(value, "shape") and hasattr(value, "dtype"):
            out.append((name, tuple(value.shape), str(value.dtype).removeprefix("torch.")))
        elif isinstance(value, tuple) and value and all(hasattr(v, "shape") for v in value):
            for i, v in enumerate(value):
                out.append((f"{name}[{i}]", tuple(v.shape), str(v.dtype).removeprefix("torch.")))
    return out


def is_freed(fns) -> bool:
    """Whether backward already released this graph's saved tensors (the first few nodes tell)."""
    checked = 0
    for fn in islice(fns, 64):
        for attr in _saved_attrs(fn):
            try:
                value = getattr(fn, attr)
            except RuntimeError:
                return True
            if hasattr(value, "shape"):
                checked += 1
        if checked >= 3:
            break
    return False
