"""Memory saved for backward: gradviz's count against one made independently with
``saved_tensors_hooks`` (each storage once, by pointer and size), and the lifecycle."""

import gc
import weakref

import pytest
import torch
import torch.utils.checkpoint as checkpoint
from torch import nn

import gradviz
from gradviz.core.memory import NO_STORAGE, PACKED, MemoryUnknownError


def independent_count(forward, params) -> dict:
    """Bytes by kind of the unique storages autograd saves in ``forward()``, seen by a pack
    hook: parameter (the storage of a leaf that requires grad), activation (anything else)."""
    leaf_ptrs = {p.untyped_storage().data_ptr() for p in params}
    seen: dict[int, list] = {}

    def pack(t):
        s = t.untyped_storage()
        ptr = s.data_ptr()
        kind = "parameter" if ptr in leaf_ptrs or (t.is_leaf and t.requires_grad) else "activation"
        seen[ptr] = [s.nbytes(), kind]
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = forward()
    del out
    counts = dict.fromkeys(("bytes", "activation", "parameter"), 0)
    for n, kind in seen.values():
        counts["bytes"] += n
        counts[kind] += n
    return counts


def transformer():
    torch.manual_seed(0)
    layer = nn.TransformerEncoderLayer(32, 4, 64, dropout=0.0, batch_first=True)
    model = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
    x = torch.randn(2, 5, 32)
    return model, lambda: model(x).pow(2).sum()


def cnn():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(8, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(),
                          nn.Linear(4 * 5 * 5, 3))
    x = torch.randn(2, 3, 16, 16)
    return model, lambda: model(x).logsumexp(-1).sum()


@pytest.mark.parametrize("build", [transformer, cnn])
def test_total_equals_an_independent_count_by_pack_hooks(build):
    model, forward = build()
    expected = independent_count(forward, list(model.parameters()))
    with gradviz.record():
        loss = forward()
    g = gradviz.trace(loss)
    totals = g.memory.totals()
    assert expected["activation"] > 0 and expected["parameter"] > 0
    assert g.saved_bytes == expected["bytes"]
    assert {k: totals[k] for k in expected} == expected
    # measured once, before backward: still known after it released everything
    loss.backward()
    assert g.saved_bytes == expected["bytes"]


def test_a_storage_saved_by_two_ops_or_as_a_view_counts_once_and_says_with_whom():
    x = torch.randn(64, 64, requires_grad=True)
    h = x.exp()  # exp saves its result: 16 KiB
    a = h * h  # saves h twice
    b = h.t().sin()  # saves a view of h
    loss = (a + b).sum()
    g = gradviz.trace(loss)
    size = 64 * 64 * 4
    assert g.node_for(h).saved_bytes == size
    assert g.node_for(a).saved_bytes == size
    assert g.node_for(b).saved_bytes == size
    assert g.memory.totals()["activation"] == size
    shared = g.memory.shared_with(g.node_for(a).id)
    assert sorted(next(iter(shared.values()))) == sorted([g.node_for(h).id, g.node_for(b).id])


def test_checkpointing_a_block_shows_the_smaller_figure():
    torch.manual_seed(0)
    block = nn.Sequential(nn.Linear(32, 128), nn.GELU(), nn.Linear(128, 128), nn.GELU(),
                          nn.Linear(128, 32))
    x = torch.randn(16, 32, requires_grad=True)
    plain = gradviz.trace(block(x).sum())
    ckpt = gradviz.trace(checkpoint.checkpoint(block, x, use_reentrant=False).sum())
    assert plain.memory.totals()["activation"] > 0
    assert ckpt.memory.totals()["activation"] < plain.memory.totals()["activation"] / 4
    assert PACKED in ckpt.memory.reasons


def test_timeline_ends_at_zero_activations_after_a_plain_backward():
    model, forward = cnn()
    with gradviz.record():
        loss = forward()
    g = gradviz.trace(loss)
    loss.backward()
    steps = g.memory_timeline()
    assert steps[0]["activation"] == g.memory.totals()["activation"] > 0
    assert steps[-1]["activation"] == 0
    assert len(steps) == len(g.capture.order) + 1
    held = [s["activation"] for s in steps]
    assert held == sorted(held, reverse=True)  # only ever falls
    assert sum(s["freed"] for s in steps) == g.saved_bytes


def test_timeline_stays_flat_with_retain_graph():
    model, forward = cnn()
    loss = forward()
    g = gradviz.trace(loss)
    loss.backward(retain_graph=True)
    steps = g.memory_timeline()
    assert len(steps) == len(g.capture.order) + 1 > 2
    assert {s["activation"] for s in steps} == {g.memory.totals()["activation"]}
    assert all(s["freed"] == 0 for s in steps)


def test_measuring_keeps_no_saved_tensor_alive():
    x = torch.randn(256, 256, requires_grad=True)
    h = x.exp()
    loss = (h * 2).sin().sum()
    watch = weakref.ref(h)
    del h
    g = gradviz.trace(loss)
    assert g.saved_bytes > 0 and g.memory_timeline()
    loss.backward()
    assert g.memory_timeline()[-1]["activation"] == 0
    gc.collect()
    assert watch() is None  # autograd released it, and gradviz held only numbers
    assert g.saved_bytes > 0


def test_not_measured_before_backward_released_says_so():
    x = torch.randn(8, requires_grad=True)
    loss = x.exp().sum()
    g = gradviz.trace(loss)
    loss.backward()
    assert g.saved_bytes is None and g.nodes[1].saved_bytes is None
    with pytest.raises(MemoryUnknownError, match="gradviz.record"):
        g.memory_timeline()


def test_tensors_without_storage_count_as_unknown_size():
    dense = torch.randn(4, 4, requires_grad=True)
    sparse = torch.randn(4, 4).to_sparse().requires_grad_()
    g = gradviz.trace(torch.sparse.mm(sparse, dense).sum())
    assert sum(g.memory.unknown) == 1
    assert NO_STORAGE in g.memory.reasons
    assert g.saved_bytes == 4 * 4 * 4  # the dense one, a leaf

    meta = torch.randn(3, 3, device="meta", requires_grad=True)
    g = gradviz.trace(meta.exp().sum())
    assert g.saved_bytes == 0 and sum(g.memory.unknown) == 1


def test_sessions_and_json_export_keep_the_memory(tmp_path):
    import json
    import zipfile

    from gradviz.core.jsonify import to_json
    from gradviz.core.session import SessionError, load, save

    model, forward = transformer()
    with gradviz.record():
        loss = forward()
    g = gradviz.trace(loss)
    loss.backward()
    loaded = load(save(g, tmp_path / "run.gradviz"))
    assert loaded.saved_bytes == g.saved_bytes > 0
    assert loaded.memory_by_module() == g.memory_by_module()
    assert loaded.memory_timeline() == g.memory_timeline()
    assert [n.saved_bytes for n in loaded] == [n.saved_bytes for n in g]

    doc = json.loads(to_json(g))
    assert doc["memory"]["bytes"] == g.saved_bytes
    assert doc["memory"]["timeline"][-1]["activation"] == 0
    assert [n["saved_bytes"] for n in doc["nodes"]] == [n.saved_bytes for n in g]

    # a storage index past the list is refused at load, naming the field
    with zipfile.ZipFile(tmp_path / "run.gradviz") as zf:
        entries = {name: zf.read(name) for name in zf.namelist()}
    session = json.loads(entries["graph.json"])
    session["storages"]["held"][3] = [len(session["storages"]["bytes"])]
    entries["graph.json"] = json.dumps(session).encode()
    with zipfile.ZipFile(tmp_path / "bad.gradviz", "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    with pytest.raises(SessionError, match=r"storages\.held\[3\]"):
        load(tmp_path / "bad.gradviz")


class Blocks(nn.Module):
    def __init__(self, checkpointed=()):
        super().__init__()
        torch.manual_seed(0)
        self.blocks = nn.ModuleList(nn.Sequential(nn.Linear(32, 96), nn.GELU(), nn.Linear(96, 32),
                                                  nn.Tanh()) for _ in range(3))
        self.checkpointed = checkpointed

    def forward(self, x):
        for i, block in enumerate(self.blocks):
            x = checkpoint.checkpoint(block, x, use_reentrant=False) if i in self.checkpointed else block(x)
        return x.sum()


def blocks_after_backward():
    """Three recorded blocks, traced, after a plain backward."""
    x = torch.randn(8, 32, requires_grad=True)
    with gradviz.record():
        loss = Blocks()(x)
    g = gradviz.trace(loss)
    loss.backward()
    return g


def test_summary_names_the_heaviest_and_what_checkpointing_a_block_frees():
    from gradviz.core.memory_report import checkpoint_saving, heaviest_nodes, summary_text

    x = torch.randn(8, 32, requires_grad=True)
    with gradviz.record():
        plain = gradviz.trace(Blocks()(x))
        ckpt = gradviz.trace(Blocks(checkpointed=(1,))(x))
    own, inputs = checkpoint_saving(plain, "blocks.1")
    # what checkpointing blocks.1 took out of the count, measured on a second run
    assert own == plain.memory.totals()["activation"] - ckpt.memory.totals()["activation"] > 0
    assert inputs == 8 * 32 * 4  # the block's input, which checkpoint keeps
    text = summary_text(plain)
    heaviest = heaviest_nodes(plain)[0]
    assert max(n.saved_bytes or 0 for n in plain) == heaviest.saved_bytes
    assert f"{heaviest.label}  {heaviest.module}" in text.split("Heaviest nodes:\n")[1].splitlines()[0]
    assert "Suggestion: torch.utils.checkpoint on blocks." in text and "could free about" in text


def test_fake_and_nested_tensors_count_as_unknown_size():
    from torch._subclasses.fake_tensor import FakeTensorMode

    with FakeTensorMode():
        x = torch.randn(4, 4, requires_grad=True)
        loss = x.exp().sum()
    g = gradviz.trace(loss)
    assert g.saved_bytes == 0 and sum(g.memory.unknown) == 1  # exp's result

    nested = torch.nested.nested_tensor([torch.randn(2, 3), torch.randn(4, 3)],
                                        requires_grad=True, layout=torch.jagged)
    g = gradviz.trace(nested.exp().values().sum())
    assert g.saved_bytes == 0 and sum(g.memory.unknown) >= 1
    assert g.memory.reasons == [NO_STORAGE]


def test_measuring_never_runs_an_unpack_hook_and_counts_what_the_pack_hook_kept():
    calls = []

    def pack(t):
        calls.append("pack")
        return t.detach().clone()  # what autograd now holds: a copy

    def unpack(t):
        calls.append("unpack")
        return t

    x = torch.randn(32, 32, requires_grad=True)
    with torch.autograd.graph.saved_tensors_hooks(pack, unpack), gradviz.record():
        loss = x.exp().sin().sum()
    g = gradviz.trace(loss)
    assert g.saved_bytes == 2 * 32 * 32 * 4  # exp's result and sin's input, each copied
    assert g.memory.totals()["activation"] == g.saved_bytes  # copies: no leaf's storage
    loss.backward()
    g.memory_timeline()
    assert calls.count("unpack") == 2  # backward's own, none of gradviz's


@pytest.mark.parametrize("build", [transformer, cnn])
def test_record_takes_the_storages_in_its_own_pass_and_trace_reads_no_node_again(
        build, monkeypatch):
    from gradviz.core import memory

    model, forward = build()
    reads = []
    real = memory._held_storages  # what measuring reads of a Node record() did not tag
    monkeypatch.setattr(memory, "_held_storages", lambda fn: reads.append(fn) or real(fn))
    with gradviz.record():
        loss = forward()
    g = gradviz.trace(loss)
    recorded = g.memory
    # only the ops torch made inside another call (no tag: record() never saw them) are read
    untagged = {id(fn) for fn, kind in zip(g.cols.fn, g.cols.kind)
                if kind != "leaf" and "gradviz" not in fn.metadata}
    assert {id(fn) for fn in reads} == untagged
    assert len(untagged) < sum(kind == "op" for kind in g.cols.kind)
    # the same figures as reading every Node
    leaves = [fn.variable for fn, kind in zip(g.cols.fn, g.cols.kind) if kind == "leaf"]
    walked = memory.measure(g.cols.fn, leaves)
    assert sorted(zip(recorded.bytes, recorded.kind)) == sorted(zip(walked.bytes, walked.kind))
    by_address = lambda mem: [sorted(mem.address[s] for s in h) for h in mem.held]  # noqa: E731
    assert by_address(recorded) == by_address(walked)
    assert recorded.unknown == walked.unknown
