"""Sessions taken apart and put back together, for the hostile-file tests and the fuzz run
(``benchmarks/fuzz_sessions.py`` uses the same mutations at a larger count)."""

from __future__ import annotations

import copy
import io
import json
import math
import random
import struct
import zipfile

import numpy as np
import torch

import gradviz


def captured_graph() -> gradviz.GradGraph:
    """A small recorded graph with what a session can hold: names, modules, a multi-output
    op, transposed (Fortran-order) data, bfloat16, a summarised tensor, leaves and outputs,
    and the flows into a tensor with several consumers."""
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh())
    X = torch.randn(2, 3, requires_grad=True)
    W = torch.randn(4, 3, requires_grad=True)
    with gradviz.record():
        H = net(X)
        A, B = (H @ W).t().split(2)
        C = A.bfloat16().float() * 2 + B
        P = torch.linspace(-1, 1, 600).view(20, 30).requires_grad_()
        S = C.sum() + (C * C).mean() + P.tanh().mean()  # C: three flows kept apart
    g = gradviz.trace(S, cap=16)
    S.backward()
    return g


def captured_run() -> gradviz.Run:
    """Three recorded steps of a model whose branch follows the data, the newest two kept
    whole: a run file holds two sessions, a history and their index."""
    torch.manual_seed(0)
    lin = torch.nn.Linear(3, 3)
    run = gradviz.Run(keep=2)
    for sign in (1.0, -1.0, 1.0):
        x = torch.rand(2, 3) * sign
        with gradviz.record():
            h = lin(x)
            loss = (h.tanh() * 2 if x.mean() > 0 else h.sigmoid()).pow(2).mean()
        run.trace(loss)
        loss.backward()
    return run


def entries(path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def document(files: dict[str, bytes], name: str = "graph.json") -> dict:
    return json.loads(files[name])


def with_document(files: dict[str, bytes], doc: dict, depth: int = 100_000,
                  name: str = "graph.json") -> dict[str, bytes]:
    """``files`` with ``doc`` as ``name``; a value DEEP becomes lists ``depth`` deep."""
    text = json.dumps(doc).replace(json.dumps(DEEP), "[" * depth + "]" * depth)
    return {**files, name: text.encode()}


def write(path, files: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED):
    with zipfile.ZipFile(path, "w", method) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return path


def npy(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=False)
    return buf.getvalue()


def patch_central_directory(data: bytes, name: str, *, method: int | None = None,
                            flags: int | None = None) -> bytes:
    """The zip ``data`` with ``name``'s compression method or flag bits changed where
    zipfile reads them (the central directory), as another zip tool could have written."""
    out = bytearray(data)
    pos = out.find(b"PK\x01\x02")
    while pos >= 0:
        name_len, extra_len, comment_len = struct.unpack_from("<HHH", out, pos + 28)
        if out[pos + 46:pos + 46 + name_len].decode() == name:
            if flags is not None:
                struct.pack_into("<H", out, pos + 8, flags)
            if method is not None:
                struct.pack_into("<H", out, pos + 10, method)
        pos = out.find(b"PK\x01\x02", pos + 46 + name_len + extra_len + comment_len)
    return bytes(out)


# -- mutations for the fuzz run ----------------------------------------------------------
ODD_VALUES = [None, True, False, -1, 0, 1, 2**31, 2**63, 2**64 + 1, -2**63 - 1, 10**30, 1e999,
              -1e999, math.nan, 0.5, -0.0, "", "abc", "\x00\x1b\\", "\ud800", "float32", [],
              [1, 2], [[[]]], {}, {"a": 1}, [-1], ["1"], 1e300]
HUGE = [2**40, 2**62, 2**63 - 1, 2**63, 2**64, 10**25, 1e999, 1e308]


def _slots(value, out: list) -> list:
    """Every (container, key) in a JSON value, depth first."""
    if isinstance(value, dict):
        for key in list(value):
            out.append((value, key))
            _slots(value[key], out)
    elif isinstance(value, list):
        for i in range(len(value)):
            out.append((value, i))
            _slots(value[i], out)
    return out


def _drop_field(rng, doc):
    slots = [(c, k) for c, k in _slots(doc, []) if isinstance(c, dict)]
    container, key = rng.choice(slots)
    del container[key]


def _swap_type(rng, doc):
    container, key = rng.choice(_slots(doc, []))
    container[key] = copy.deepcopy(rng.choice(ODD_VALUES))


def _huge_number(rng, doc):
    slots = [(c, k) for c, k in _slots(doc, []) if type(c[k]) in (int, float)]
    container, key = rng.choice(slots)
    container[key] = rng.choice(HUGE) * rng.choice((1, -1))


def _resize_list(rng, doc):
    slots = [(c, k) for c, k in _slots(doc, []) if isinstance(c[k], list) and c[k]]
    container, key = rng.choice(slots)
    items = container[key]
    container[key] = rng.choice([items[:-1], items + items[-1:], items[::-1], [items[0]] * 3])


ODD_TEXT = ["", "\\", 'a"b\\', "\x01\x07\x1b[31m", "line\nbreak", "\u202eltr", "ü" * 300,
            "</text><script>", "{}[]", "\ufffe"]
TEXT_FIELDS = ("name", "module", "op", "source")


def _odd_text(rng, doc):
    """A valid but unusual string where the app and exporters show text."""
    node = rng.choice(doc["nodes"])
    node[rng.choice(TEXT_FIELDS)] = rng.choice(ODD_TEXT)
    doc["warnings"] = doc.get("warnings", []) + [rng.choice(ODD_TEXT)]


def _odd_stat(rng, doc):
    """A valid but unusual statistic: NaN, infinite, huge, negative zero."""
    snaps = [s for n in doc["nodes"] for s in (n["grads"] or []) + (n["values"] or []) if s]
    stats = rng.choice(snaps)["stats"]
    stats[rng.choice(("min", "max", "mean", "std", "norm"))] = rng.choice(
        (math.nan, math.inf, -math.inf, 1e308, -0.0, 2**70))


DEEP = "@deep@"  # replaced by deeply nested lists once the JSON is text (json cannot write it)


def _deep(rng, doc):
    container, key = rng.choice(_slots(doc, []))
    container[key] = DEEP


DOC_MUTATIONS = [_drop_field, _swap_type, _swap_type, _huge_number, _resize_list, _deep,
                 _odd_text, _odd_stat]


def _array_names(files):
    return [n for n in files if n.endswith(".npy")]


def _resize_array(rng, files):
    name = rng.choice(_array_names(files))
    fp = io.BytesIO(files[name])
    np.lib.format.read_magic(fp)
    shape, _, old = np.lib.format.read_array_header_1_0(fp)  # only the header: it may lie
    shapes = [(), (0,), (512, 512)] + [s for s in ((math.prod(shape) + 1,), shape[::-1],
                                                    tuple(s + 1 for s in shape))
                                        if math.prod(s) <= 2**18]
    dtype = rng.choice([old, np.float64, np.int8, np.bool_, np.dtype(">f4"), np.float16])
    files[name] = npy(np.zeros(rng.choice(shapes), dtype))


def npy_header(shape: tuple, descr: str = "<f4") -> bytes:
    """Only the header of a ``.npy`` file: it declares an array of ``shape``, holds no data."""
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": descr, "fortran_order": False,
                                               "shape": shape})
    return buf.getvalue()


def _foreign_array(rng, files):
    name = rng.choice(_array_names(files))
    buf = io.BytesIO()
    np.savez(buf, a=np.zeros(3))
    data = files[name]
    files[name] = rng.choice([buf.getvalue(), data[:len(data) // 2], data + b"\0" * 64,
                              npy_header((2**40,)), npy_header((2**20, 3), "|O"),
                              data.replace(b"'descr'", b"'dexcr'"), b"\x93NUMPY\x03\x00",
                              bytes(rng.randrange(256) for _ in range(80))])


def _swap_entries(rng, files):
    names = list(files)
    a, b = rng.sample(names, 2)
    files[a], files[b] = files[b], files[a]


def _drop_entry(rng, files):
    del files[rng.choice(list(files))]


FILE_MUTATIONS = [_resize_array, _foreign_array, _swap_entries, _drop_entry]


def mutated(rng: random.Random, files: dict[str, bytes]) -> bytes:
    """One to three random changes to a good session's entries (JSON fields, arrays, zip
    entries), then sometimes to the archive's own bytes; the new file's bytes."""
    files = dict(files)
    names = sorted(n for n in files if n.endswith(".json"))  # a run file: its index and passes
    name = names[0] if len(names) == 1 else rng.choice(names)
    doc = document(files, name)
    for _ in range(rng.choice((1, 1, 2, 3))):
        try:
            if rng.random() < 0.6:
                rng.choice(DOC_MUTATIONS)(rng, doc)
            else:
                rng.choice(FILE_MUTATIONS)(rng, files)
        except (LookupError, TypeError, ValueError, AttributeError):
            pass  # an earlier change left nothing for this one to change
    if name in files:
        files = with_document(files, doc, rng.choice((100, 5_000, 200_000)), name)
    buf = io.BytesIO()
    write(buf, files)
    data = buf.getvalue()
    roll = rng.random()
    if roll < 0.05:
        data = patch_central_directory(data, rng.choice(list(files)), method=rng.choice((9, 12)))
    elif roll < 0.08:
        data = patch_central_directory(data, rng.choice(list(files)), flags=1)
    elif roll < 0.12:
        i = rng.randrange(len(data))
        data = data[:i] + bytes([data[i] ^ 0xFF]) + data[i + 1:]
    return data


def _use(loaded) -> None:
    """What the app and the command do with a file that loaded: export each graph (JSON,
    DOT, SVG: parsed); of a run, also every node's history and its two passes compared."""
    from xml.etree import ElementTree

    from gradviz.core.diff import compare
    from gradviz.layout.export import file_bytes

    graphs = [loaded]
    if isinstance(loaded, gradviz.Run):
        for key in loaded.summaries.keys:
            loaded.history(key)
        graphs = loaded.passes
        if len(graphs) > 1:  # a damaged index may keep one pass
            diff = compare(graphs[0], graphs[-1])
            json.dumps(diff.to_dict(), allow_nan=False)
            graphs = [*graphs, diff.graph]
            ElementTree.fromstring(file_bytes(diff.graph, "svg", color_by="diff"))
    for graph in graphs:
        json.loads(file_bytes(graph, "json"))
        file_bytes(graph, "dot", labels="values").decode()
        ElementTree.fromstring(file_bytes(graph, "svg", labels="values"))


def fuzz(count: int, seed: int, folder, run: bool = False) -> dict:
    """Load ``count`` mutated sessions (``run``: run files); each must load, or be refused
    with one SessionError line. Those that load are used (:func:`_use`) and the files
    parsed. A report of what happened; ``failures`` lists every case that broke the rule."""
    base = entries(gradviz.save(captured_run() if run else captured_graph(),
                                folder / "base.gradviz"))
    rng = random.Random(seed)
    path = folder / "case.gradviz"
    report: dict = {"loaded": 0, "refused": 0, "failures": []}
    for case in range(count):
        path.write_bytes(mutated(rng, base))
        try:
            graph = gradviz.load(path)
        except gradviz.SessionError as err:
            report["refused"] += 1
            if "\n" in str(err) or "memory" in str(err):
                report["failures"].append(f"case {case}: SessionError {str(err)!r}")
            continue
        except Exception as exc:  # noqa: BLE001 - the point: nothing else may come out
            report["failures"].append(f"case {case}: {type(exc).__name__}: {exc}"[:400])
            continue
        report["loaded"] += 1
        try:
            _use(graph)
        except Exception as exc:  # noqa: BLE001
            report["failures"].append(f"case {case} loads, then fails to export: "
                                      f"{type(exc).__name__}: {exc}"[:400])
    return report
