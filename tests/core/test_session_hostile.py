"""Hostile and damaged sessions (issue 18.8): each is refused at load with one SessionError
line, before it can cost memory or time, and never reaches an exporter or the window."""

import io
import json
import subprocess
import sys
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest

import gradviz
from gradviz.core import session
from tests.core import session_files as sf

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def good(tmp_path_factory) -> dict[str, bytes]:
    """The entries of a good session (see session_files.captured_graph)."""
    path = tmp_path_factory.mktemp("good") / "good.gradviz"
    return sf.entries(gradviz.save(sf.captured_graph(), path))


def _whole(doc, kind="grads"):
    """(node, snapshot) of the first snapshot of ``kind`` kept whole (with data)."""
    for n in doc["nodes"]:
        for snap in n[kind] or ():
            if snap is not None and snap["data"] is not None:
                return n, snap
    raise AssertionError("the session has no whole snapshot")


def _refused(path, match: str) -> str:
    with pytest.raises(gradviz.SessionError, match=match) as info:
        gradviz.load(path)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_a_huge_array_for_a_small_tensor_is_refused_before_it_is_read(tmp_path, good):
    doc = sf.document(good)
    _, snap = _whole(doc)
    files = dict(good)
    files[snap["data"]] = sf.npy(np.zeros((8, 2**20), np.float32))  # 32 MiB, deflates to 32 KB
    path = sf.write(tmp_path / "bomb.gradviz", files)
    assert path.stat().st_size < 2**20
    tracemalloc.start()  # numpy reports its buffers to tracemalloc
    try:
        _refused(path, r"the array is \[8, 1048576\], but the tensor is")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * 2**20


def test_arrays_beyond_the_total_limit_are_refused(tmp_path, good, monkeypatch):
    path = sf.write(tmp_path / "ok.gradviz", good)
    monkeypatch.setattr(session, "MAX_ARRAY_BYTES", 64)  # smaller than this session's arrays
    _refused(path, "more than the")


def test_a_graph_json_beyond_its_limit_is_refused_unread(tmp_path, good, monkeypatch):
    path = sf.write(tmp_path / "ok.gradviz", good)
    monkeypatch.setattr(session, "MAX_JSON_BYTES", 1000)  # smaller than this graph.json
    monkeypatch.setattr(session.json, "loads", None)  # never reached
    _refused(path, r"graph.json: the entry 'graph.json' holds [\d,]+ bytes, more than")


def test_an_array_shared_by_many_nodes_is_refused(tmp_path, good):
    doc = sf.document(good)
    _, first = _whole(doc)
    shared = 0
    for n in doc["nodes"]:
        for snap in n["values"] or ():
            if snap is not None and snap["data"] is not None:
                snap.update(data=first["data"], shape=first["shape"], dtype=first["dtype"])
                shared += 1
    assert shared
    path = sf.write(tmp_path / "shared.gradviz", sf.with_document(good, doc))
    _refused(path, "is used twice")


@pytest.mark.parametrize("field, value", [
    ("cap", "-Infinity"), ("seq", "1e999"), ("shape", "[Infinity]"), ("nan", "Infinity"),
    ("zeros", "NaN"), ("edge", "1e999"),
])
def test_infinite_numbers_are_refused(tmp_path, good, field, value):
    doc = sf.document(good)
    node, snap = _whole(doc)
    marker = "@value@"
    target = {"cap": (doc, "cap"), "seq": (node, "seq"), "shape": (snap, "shape"),
              "nan": (snap["stats"], "nan"), "zeros": (snap["stats"], "zeros"),
              "edge": (doc["edges"][0], 1)}[field]
    target[0][target[1]] = marker
    text = json.dumps(doc).replace(json.dumps(marker), value)
    path = sf.write(tmp_path / "inf.gradviz", {**good, "graph.json": text.encode()})
    _refused(path, "damaged: .*expected")


def test_deeply_nested_json_is_refused(tmp_path, good):
    doc = sf.document(good)
    doc["nodes"][0]["name"] = sf.DEEP
    path = sf.write(tmp_path / "deep.gradviz", sf.with_document(good, doc, depth=100_000))
    _refused(path, "nested too deeply")


def test_npz_bytes_where_an_array_belongs_are_refused(tmp_path, good):
    _, snap = _whole(sf.document(good))
    buf = io.BytesIO()
    np.savez(buf, a=np.zeros(3))
    path = sf.write(tmp_path / "npz.gradviz", {**good, snap["data"]: buf.getvalue()})
    _refused(path, "not a .npy array")


@pytest.mark.parametrize("entry", ["graph.json", "array"])
@pytest.mark.parametrize("change, match", [
    ({"flags": 1}, "is encrypted"), ({"method": 9}, "compression method 9"),
    ({"method": 14}, "compression method 14"),
])
def test_encrypted_and_unusual_zip_entries_are_refused(tmp_path, good, entry, change, match):
    name = entry if entry == "graph.json" else _whole(sf.document(good))[1]["data"]
    data = sf.write(io.BytesIO(), good).getvalue()
    path = tmp_path / "odd.gradviz"
    path.write_bytes(sf.patch_central_directory(data, name, **change))
    _refused(path, match)


@pytest.mark.parametrize("where, value, match", [
    ("name", 123, r"nodes\[\d+\]\.name: expected a string, got 123"),
    # {} is a tensor without values (meta): then it cannot also carry data
    ("stats", {}, r"a tensor without stats has no data or sample"),
    ("stats", {"min": 0.0}, r"stats: the field '\w+' is missing"),
    ("shape", "abc", r"shape: expected a list of at most 64 sizes, got 'abc'"),
    ("order", [999999], r"order\[0\]: node 999999; the nodes are 0 to \d+"),
    ("dtype", "onnx", r"dtype: expected a torch dtype name"),
    ("device", "cpu\n", r"device: expected a device name"),
    ("module", "\ud800", r"module: expected text without lone surrogates"),
    ("name", "a\0b", r"name: expected text without NUL characters"),
    ("meta_shape", [3, 3], r"grads\[0\]\.shape: \[[\d, ]*\], but the output's shape is"),
])
def test_wrong_field_types_are_refused_at_load(tmp_path, good, where, value, match):
    doc = sf.document(good)
    node, snap = _whole(doc)
    if where in ("name", "module"):
        node[where] = value
    elif where in ("stats", "shape", "dtype", "device"):
        snap[where] = value
    elif where == "meta_shape":
        node["meta"][0][0] = value
    else:
        doc[where] = value
    path = sf.write(tmp_path / "typed.gradviz", sf.with_document(good, doc))
    _refused(path, match)


def test_a_cycle_of_edges_is_refused(tmp_path, good):
    """A cycle made the forward player and the layered layout raise in the app."""
    doc = sf.document(good)
    src, dst, port = doc["edges"][0]
    doc["edges"].append([dst, src, 0])
    path = sf.write(tmp_path / "cycle.gradviz", sf.with_document(good, doc))
    _refused(path, r"edges: a cycle runs through node \d+")


def test_a_dtype_name_never_imports_anything(tmp_path, good):
    """``getattr(torch, name)`` on a file's dtype imported ``torch.onnx``; a fresh process
    shows that loading such a file now imports nothing new from torch."""
    doc = sf.document(good)
    _whole(doc)[1]["dtype"] = "onnx"
    path = sf.write(tmp_path / "onnx.gradviz", sf.with_document(good, doc))
    code = ("import sys, gradviz\n"
            "try:\n    gradviz.load(sys.argv[1])\nexcept gradviz.SessionError as e:\n"
            "    print('refused')\n"
            "print('torch.onnx' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code, str(path)], cwd=ROOT, text=True,
                         capture_output=True, timeout=120)
    assert out.stdout.split() == ["refused", "False"], out.stderr


def test_a_bad_crc_is_reported_as_corrupt_not_as_not_a_zip(tmp_path, good):
    name = _whole(sf.document(good))[1]["data"]
    data = bytearray(sf.write(io.BytesIO(), good, zipfile.ZIP_STORED).getvalue())
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as zf:
        info = zf.getinfo(name)
    last = info.header_offset + len(info.FileHeader()) + info.compress_size - 1
    data[last] ^= 0xFF  # the last byte of the array's data: the .npy header still parses
    path = tmp_path / "crc.gradviz"
    path.write_bytes(bytes(data))
    message = _refused(path, "corrupt")
    assert "Bad CRC-32" in message and "not a zip" not in message


def test_a_string_version_is_named_as_a_string(tmp_path, good):
    doc = sf.document(good)
    doc["version"] = "1"
    path = sf.write(tmp_path / "v.gradviz", sf.with_document(good, doc))
    _refused(path, r"of version '1'; this gradviz reads version 1$")


def test_a_session_file_that_loads_has_data_matching_its_declared_tensors(tmp_path, good):
    """The other side of the checks: a good file still loads whole."""
    graph = gradviz.load(sf.write(tmp_path / "good.gradviz", good))
    doc = sf.document(good)
    for node, n in zip(graph.nodes, doc["nodes"]):
        for snap, declared in zip(node.grad_snapshots, n["grads"] or ()):
            assert list(snap.shape) == declared["shape"] and snap.dtype == declared["dtype"]
            if snap.data is not None:
                assert list(snap.data.shape) == declared["shape"]
                assert str(snap.data.dtype) == f"torch.{declared['dtype']}"


def _summarised(doc):
    for n in doc["nodes"]:
        for snap in n["grads"] or ():
            if snap is not None and snap["sample"] is not None:
                return n, snap
    raise AssertionError("the session has no summarised gradient")


def test_a_weird_but_valid_session_loads_and_exports(tmp_path, good):
    """Everything the schema lets through can be shown: extreme numbers, odd text, a huge
    summarised tensor; the exports are read back by independent parsers (and dot)."""
    from xml.etree import ElementTree

    from gradviz.layout.export import file_bytes

    doc = sf.document(good)
    node, snap = _summarised(doc)
    node["meta"][0][0] = snap["shape"] = [2**31, 2**31]
    snap["stats"].update(min=-1e308, max=float("inf"), mean=float("nan"), norm=1e308, nan=2**40)
    whole_node, whole = _whole(doc)
    whole["stats"].update(std=float("-inf"), zeros=1)
    for i, n in enumerate(doc["nodes"]):
        n["module"] = ["blocks.tail\\", 'q"\x01', None, "a..b", ""][i % 5]
        n["name"] = ["\x01\x1b[31m", "\ufffe", None, "x" * 2000][i % 4]
        n["seq"] = 2**64 - 1 - i
    doc.update(cap=float("inf"), order=[], warnings=["\x07", ""],
               info={"index": 3, "title": "\x01", "odd": -0.0})
    path = sf.write(tmp_path / "weird.gradviz", sf.with_document(good, doc))
    graph = gradviz.load(path)
    assert graph.nodes[doc["nodes"].index(node)].grad_snapshot.stats["nan"] == 2**40
    exported = json.loads(file_bytes(graph, "json"))  # strict JSON: infinities as null
    assert len(exported["nodes"]) == len(doc["nodes"])
    for collapsed in ((), "auto"):
        dot = file_bytes(graph, "dot", labels="values", collapsed=collapsed)
        ran = subprocess.run(["dot", "-Tcanon"], input=dot, capture_output=True, timeout=60)
        assert ran.returncode == 0, ran.stderr.decode()
        ElementTree.fromstring(file_bytes(graph, "svg", labels="values", collapsed=collapsed))
