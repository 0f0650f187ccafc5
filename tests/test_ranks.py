"""gradviz under torchrun: each rank asked for traces and writes its own file, the others run
untouched, the export path never imports Qt, and DDP's gradients are unchanged."""

import json
import os
import runpy
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp

from gradviz.cli import main
from gradviz.core.ranks import RanksError, parse_ranks, rank_path
from tests.core.test_qt_free import NO_QT

SCRIPTS = Path(__file__).parent / "scripts"

EXPORT_AS_RANK_WITHOUT_QT = NO_QT + """
from gradviz.cli import main
code = main(sys.argv[1:])
assert not any(m.startswith(('PySide6', 'shiboken6')) for m in sys.modules)
sys.exit(code)
"""


def _as_rank(rank: int, *argv: str):
    env = {**os.environ, "RANK": str(rank), "WORLD_SIZE": "2"}
    return subprocess.run([sys.executable, "-c", EXPORT_AS_RANK_WITHOUT_QT, *argv], env=env,
                          capture_output=True, text=True, timeout=300)


def test_each_traced_rank_writes_its_own_file_without_qt(tmp_path):
    out = tmp_path / "out.json"
    for rank in (0, 1):
        done = _as_rank(rank, "export", str(SCRIPTS / "training_loop.py"), "-o", str(out),
                        "--ranks", "0,1", "--", "2")
        assert done.returncode == 0, done.stderr
        assert f"wrote {tmp_path / f'out.rank{rank}.json'}" in done.stderr
        assert json.loads((tmp_path / f"out.rank{rank}.json").read_text())["nodes"]
    assert not out.exists()


def test_a_rank_left_out_runs_the_script_untouched(tmp_path):
    seen, out = tmp_path / "seen.json", tmp_path / "out.json"
    done = _as_rank(1, "export", str(SCRIPTS / "step_probe.py"), "-o", str(out), "--", "2",
                    str(seen))  # --ranks 0 by default
    assert done.returncode == 0, done.stderr
    assert done.stderr == "" and list(tmp_path.iterdir()) == [seen]
    assert json.loads(seen.read_text()) == [{"modes": 0, "module_hooks": 0}] * 2


def test_rank_names_and_bad_ranks(monkeypatch):
    assert parse_ranks("0,2") == {0, 2} and parse_ranks("all") is None
    with pytest.raises(RanksError, match="--ranks takes 'all' or rank numbers"):
        parse_ranks("first")
    monkeypatch.setenv("WORLD_SIZE", "1")
    assert rank_path("/a/out.json") == "/a/out.json"
    monkeypatch.setenv("WORLD_SIZE", "4")
    monkeypatch.setenv("RANK", "3")
    assert rank_path("/a/out.json") == "/a/out.rank3.json"


def _train_rank(rank: int, port: int, folder: str, wrap: str) -> None:
    """One rank: the script run plainly, then under ``gradviz export --ranks all``."""
    os.environ.update(RANK=str(rank), WORLD_SIZE="2", MASTER_ADDR="127.0.0.1",
                      MASTER_PORT=str(port))
    script = str(SCRIPTS / "distributed_train.py")
    sys.argv = [script, os.path.join(folder, f"plain{rank}.pt"), wrap]
    runpy.run_path(script, run_name="__main__")
    os.environ["MASTER_PORT"] = str(port + 1)
    code = main(["export", script, "-o", os.path.join(folder, "g.json"), "--ranks", "all",
                 "--quiet", "--", os.path.join(folder, f"traced{rank}.pt"), wrap])
    assert code == 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _gradients_are_bitwise_the_same_with_gradviz(folder, wrap: str) -> list:
    mp.spawn(_train_rank, args=(_free_port(), str(folder), wrap), nprocs=2, join=True)
    plain = [torch.load(folder / f"plain{rank}.pt") for rank in (0, 1)]
    for rank in (0, 1):
        traced = torch.load(folder / f"traced{rank}.pt")
        assert all(torch.equal(a, b) for a, b in zip(plain[rank], traced, strict=True))
        graph = json.loads((folder / f"g.rank{rank}.json").read_text())
        assert any(n["grad"] for n in graph["nodes"])
    return plain


def test_ddp_gradients_are_bitwise_the_same_with_gradviz(tmp_path):
    plain = _gradients_are_bitwise_the_same_with_gradviz(tmp_path, "ddp")
    assert all(torch.equal(a, b) for a, b in zip(*plain))  # all-reduced: the ranks agree


def test_fsdp_gradients_are_bitwise_the_same_with_gradviz(tmp_path):
    """FSDP2 (``fully_shard``) on gloo: each rank holds its shard of every gradient; the
    unsharded parameters' storage is freed after forward, which gradviz must not read."""
    plain = _gradients_are_bitwise_the_same_with_gradviz(tmp_path, "fsdp")
    shards = [torch.cat([p.reshape(-1) for p in grads]) for grads in plain]
    assert shards[0].numel() + shards[1].numel() == 4 * 8 + 8 + 8 + 1  # sharded, not copied
