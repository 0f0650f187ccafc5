"""History chunks on disk: the run file holds them as ``history/<chunk>/<field>.npy``.

A long run spills its older history here when the arrays in memory would pass their cap
(:class:`~gradviz.core.history.History`); saving the run (:mod:`.runfile`) then writes the
passes and the index beside them, so the spilled chunks are already where the file keeps
them. Arrays only, read with ``allow_pickle=False``.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np

from .history import FIELDS


def entry(i: int, field: str) -> str:
    return f"history/{i}/{field}.npy"


class ChunkFile:
    """Chunks written to, and read back from, the zip at ``path`` (made anew on first write:
    an older file at that path is replaced)."""

    def __init__(self, path):
        self.path = Path(path)
        self.written: set[int] = set()

    def write(self, i: int, chunk: dict[str, np.ndarray]) -> None:
        mode = "a" if self.written else "w"
        with zipfile.ZipFile(self.path, mode, zipfile.ZIP_DEFLATED) as zf:
            for field, _, _ in FIELDS:
                buf = io.BytesIO()
                np.save(buf, chunk[field], allow_pickle=False)
                zf.writestr(entry(i, field), buf.getvalue())
        self.written.add(i)

    def read(self, i: int) -> dict[str, np.ndarray]:
        with zipfile.ZipFile(self.path) as zf:
            return {field: np.load(io.BytesIO(zf.read(entry(i, field))), allow_pickle=False)
                    for field, _, _ in FIELDS}
