"""Saved sessions (.gradviz) and the JSON export: round trips, schema, hostile files."""

import io
import json
import pickle
import zipfile

import numpy as np
import pytest
import torch

import gradviz
from gradviz.core.jsonify import to_json
from tests.core import seed


@pytest.fixture
def captured():
    X, W, B = seed.tensors()
    with gradviz.record():
        Z = torch.nn.functional.linear(X, W.t(), B)
        P = torch.linspace(-2, 2, 40_000).view(200, 200).requires_grad_()
        S = Z.sum() + (P * 3).tanh().mean()  # an unnamed 200x200 tensor: summarised
    g = gradviz.trace(S, cap=1000)
    S.backward()
    return g


def test_session_round_trip_keeps_structure_values_and_grads(tmp_path, captured):
    path = gradviz.save(captured, tmp_path / "run.gradviz")
    loaded = gradviz.load(path)
    assert loaded.cols.op == captured.cols.op and loaded.edges == captured.edges
    assert loaded.capture.order == captured.capture.order
    for a, b in zip(captured.nodes, loaded.nodes):
        assert (a.name, a.kind, a.module, a.source, a.shape, a.dtype) == \
               (b.name, b.kind, b.module, b.source, b.shape, b.dtype)
        for sa, sb in ((a.grad_snapshot, b.grad_snapshot), (a.value_snapshot, b.value_snapshot)):
            assert (sa is None) == (sb is None)
            if sa is not None:
                assert sa.stats == pytest.approx(sb.stats, nan_ok=True)
                assert (sa.data is None and sb.data is None) or torch.equal(sa.data, sb.data)
    assert torch.equal(loaded.find("Z").grad, torch.ones(2, 2))
    assert torch.allclose(loaded.find("X").grad, torch.tensor(seed.DS_DX))


def test_json_export_follows_the_schema(tmp_path, captured):
    doc = json.loads(to_json(captured))  # strict JSON: allow_nan=False when written
    assert set(doc) == {"nodes", "edges", "flows", "memory"}
    for flow in doc["flows"]:  # one per edge, each a snapshot like a node's gradient
        assert set(flow) == {"from", "to", "output_nr", "grad"}
        assert flow["grad"] is None or set(flow["grad"]) == {"shape", "dtype", "stats", "data"}
    keys = {"id", "kind", "op", "name", "shape", "dtype", "module", "source", "order", "value", "grad",
            "saved_bytes"}
    for node in doc["nodes"]:
        assert set(node) == keys
        for snap in (node["value"], node["grad"]):
            if snap is not None:
                assert set(snap) == {"shape", "dtype", "stats", "data"}
                assert set(snap["stats"]) >= {"min", "max", "mean", "std", "norm", "nan", "inf"}
    z = next(n for n in doc["nodes"] if n["name"] == "Z")
    assert z["grad"]["data"] == seed.DS_DZ
    assert torch.allclose(torch.tensor(z["value"]["data"]), torch.tensor(seed.Z_VALUE))
    big = next(n for n in doc["nodes"] if n["op"] == "TanhBackward0")
    assert big["grad"]["data"] is None and big["grad"]["shape"] == [200, 200]
    ids = {n["id"] for n in doc["nodes"]}
    assert all(a in ids and b in ids for a, b in doc["edges"])


def _write_zip(path, files):
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return path


class Boom:
    def __reduce__(self):
        return (exec, ("open('/tmp/gradviz-pwned', 'w').write('x')",))


def test_corrupt_and_foreign_files_give_clear_errors(tmp_path, captured):
    cases = {
        "notzip.gradviz": b"hello",
        "foreign.gradviz": _write_zip(tmp_path / "f.zip", {"graph.json": json.dumps({"a": 1})}).read_bytes(),
        "badjson.gradviz": _write_zip(tmp_path / "j.zip", {"graph.json": "{nope"}).read_bytes(),
        "noentry.gradviz": _write_zip(tmp_path / "n.zip", {"other.txt": "x"}).read_bytes(),
    }
    messages = {"notzip": "not a zip", "foreign": "not a gradviz session", "badjson": "damaged",
                "noentry": "damaged"}
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(gradviz.SessionError, match=messages[name.split(".")[0]]):
            gradviz.load(tmp_path / name)
    with pytest.raises(gradviz.SessionError, match="no such file"):
        gradviz.load(tmp_path / "missing.gradviz")


def test_a_pickled_array_is_refused_and_never_executed(tmp_path, captured):
    good = gradviz.save(captured, tmp_path / "good.gradviz")
    with zipfile.ZipFile(good) as zf:
        files = {n: zf.read(n) for n in zf.namelist()}
    array_name = next(n for n in files if n.endswith(".npy"))
    buf = io.BytesIO()
    np.save(buf, np.array([Boom()], dtype=object), allow_pickle=True)
    files[array_name] = buf.getvalue()
    evil = _write_zip(tmp_path / "evil.gradviz", files)
    with pytest.raises(gradviz.SessionError, match="damaged"):
        gradviz.load(evil)
    import os
    assert not os.path.exists("/tmp/gradviz-pwned")
    assert pickle  # the payload above is a real pickle exploit, refused by allow_pickle=False


def test_session_keeps_creation_order_for_the_forward_player(tmp_path, captured):
    from gradviz.core.steps import forward_order

    loaded = gradviz.load(gradviz.save(captured, tmp_path / "run.gradviz"))
    assert [loaded.sequence_nr(i) for i in range(len(loaded))] == \
           [captured.sequence_nr(i) for i in range(len(captured))]
    assert forward_order(loaded) == forward_order(captured)
