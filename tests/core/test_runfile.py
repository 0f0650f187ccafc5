"""A run file: the kept passes and the history of every pass written and read back equal;
older history spilled to the file while the run goes on, within a cap on memory."""

import zipfile

import numpy as np
import pytest
import torch

import gradviz
from gradviz.core.history import BYTES_PER_NODE, CHUNK
from gradviz.core.passes import RunError
from gradviz.core.runfile import LoadedRun

STEPS = CHUNK * 2 + 6  # three chunks of history: two full, one begun


def _train(run: gradviz.Run, steps: int = STEPS) -> list[float]:
    """A small loop; returns the norm of the hidden activation's gradient per step, as the
    test's own hook saw it."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    data = torch.randn(5, 3)
    mine = []
    for _ in range(steps):
        opt.zero_grad()
        with gradviz.record():
            hidden = model[0](data)
            loss = model[2](model[1](hidden)).pow(2).mean()
        run.trace(loss)
        hidden.register_hook(lambda g: mine.append(g.norm().item()))
        loss.backward()
        opt.step()
    return mine


def _same_history(a, b) -> None:
    for field in ("passes", "loss", "global_norm", "grad_norm", "value_norm", "nan", "inf",
                  "present"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field), err_msg=field)


def test_a_run_file_holds_the_kept_passes_and_every_passes_history(tmp_path):
    run = gradviz.Run(keep=3)
    mine = _train(run)
    path = gradviz.save(run, tmp_path / "run.gradviz")
    loaded = gradviz.load(path)
    assert isinstance(loaded, LoadedRun)
    assert (loaded.steps, loaded.traced, loaded.every) == (STEPS, STEPS, 1)
    assert [g.info["index"] for g in loaded.passes] == [STEPS - 2, STEPS - 1, STEPS]
    for kept, back in zip(run.passes, loaded.passes, strict=True):
        assert back.cols.op == kept.cols.op and back.cols.name == kept.cols.name
        assert [tuple(e) for e in back.edges] == [tuple(e) for e in kept.edges]
        for n, m in zip(kept.nodes, back.nodes):
            assert (n.grad is None and m.grad is None) or torch.equal(n.grad, m.grad)
    for key in run.summaries.keys:
        _same_history(run.history(key), loaded.history(key))
    hidden = loaded.history(loaded.passes[-1].find("hidden"))
    np.testing.assert_allclose(hidden.grad_norm, mine, rtol=1e-6)
    with pytest.raises(RunError, match="is a saved run and traces nothing"):
        loaded.trace(torch.ones(1, requires_grad=True).sum())


def test_older_history_spills_to_the_run_file_within_the_memory_cap(tmp_path):
    path = tmp_path / "run.gradviz"
    whole = gradviz.Run(keep=2)
    _train(whole)
    chunk_bytes = whole.history_bytes // 3  # three chunks, each as wide as the graph
    run = gradviz.Run(keep=2, spill=path, history_memory=chunk_bytes)
    mine = _train(run)
    assert run.history_bytes == chunk_bytes  # only the newest chunk stays in memory
    with zipfile.ZipFile(path) as zf:
        assert {n.split("/")[1] for n in zf.namelist()} == {"0", "1"}  # the older two
    hidden = run.history(run.passes[-1].find("hidden"))
    np.testing.assert_allclose(hidden.grad_norm, mine, rtol=1e-6)  # spilled rows read back
    for key in whole.summaries.keys:
        _same_history(whole.history(key), run.history(key))
    gradviz.save(run, path)  # the same file: the spilled chunks are kept in it
    loaded = gradviz.load(path)
    for key in whole.summaries.keys:
        _same_history(whole.history(key), loaded.history(key))
    assert chunk_bytes == CHUNK * len(whole.summaries.keys) * BYTES_PER_NODE


def test_a_damaged_run_file_is_one_line(tmp_path):
    run = gradviz.Run()
    _train(run, 2)
    path = gradviz.save(run, tmp_path / "run.gradviz")
    with zipfile.ZipFile(path) as zf:
        files = {n: zf.read(n) for n in zf.namelist()}
    files["run.json"] = files["run.json"].replace(b'"widths": [', b'"widths": [7, ')
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    with pytest.raises(gradviz.SessionError, match=r"damaged: history.widths: 2 chunks for 2 "
                                                   r"passes \(one per 64\)$"):
        gradviz.load(path)


def test_a_run_file_without_passes_says_so_where_a_pass_must_show(tmp_path):
    from gradviz.sources import SourceError, open_source

    path = gradviz.save(gradviz.Run(), tmp_path / "empty.gradviz")
    assert gradviz.load(path).passes == []  # the history (empty here) still reads
    with pytest.raises(SourceError, match="the run file keeps no pass to show"):
        open_source(str(path))
