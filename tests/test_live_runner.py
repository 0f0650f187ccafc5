"""What the runner tells a viewer while a script runs: each pass once its backward is done,
with its history taken, and each print, which still reaches the terminal."""

from __future__ import annotations

import json
import math
import sys

import numpy as np

from gradviz.core.runner import run_script
from tests.test_runner import SCRIPTS

LOOP = SCRIPTS / "live_loop.py"


def test_each_pass_is_told_once_its_backward_is_done_with_its_history(tmp_path):
    seen = tmp_path / "seen.json"
    told = []

    def on_pass(graph, run):
        figures = run.timeline()
        told.append((graph.info["index"], figures.passes.tolist(), graph.capture.ran,
                     graph.find("fc1.weight").grad.norm().item()))

    result = run_script(LOOP, ["6", str(seen), "3"], on_pass=on_pass)
    mine = json.loads(seen.read_text())
    assert [t[0] for t in told] == [1, 2, 3, 4, 5, 6]
    assert all(t[1] == list(range(1, t[0] + 1)) and t[2] for t in told)
    np.testing.assert_allclose([t[3] for t in told], mine["fc1"], rtol=1e-6)

    figures = result.run.timeline()
    np.testing.assert_allclose(figures.loss, mine["loss"], rtol=1e-6)
    # the pass with NaN gradients: its global norm is NaN, as torch computes it; it is flagged
    np.testing.assert_allclose(figures.global_norm, mine["global"], rtol=1e-6)
    assert math.isnan(mine["global"][3]) and math.isnan(figures.global_norm[3])
    assert figures.nonfinite.tolist() == [False, False, False, True, False, False]


def test_the_scripts_prints_reach_the_listener_and_still_the_terminal(tmp_path, capsys):
    script = tmp_path / "chatty.py"
    script.write_text(
        "import sys, threading, torch\n"
        "print('to stdout', 1)\n"
        "print('to stderr', file=sys.stderr)\n"
        "t = threading.Thread(target=lambda: print('from its own thread'))\n"
        "t.start(); t.join()\n"
        "w = torch.ones(2, requires_grad=True)\n"
        "(w * 2).sum().backward()\n"
        "sys.stdout.write('no newline')\n")
    heard = []
    before = sys.stdout, sys.stderr
    run_script(script, output=lambda stream, text: heard.append((stream, text)))
    assert (sys.stdout, sys.stderr) == before  # put back
    assert "".join(t for s, t in heard if s == "stdout") == "to stdout 1\nno newline"
    assert "".join(t for s, t in heard if s == "stderr") == "to stderr\n"
    terminal = capsys.readouterr()
    assert terminal.out == "to stdout 1\nfrom its own thread\nno newline"
    assert terminal.err == "to stderr\n"


def test_a_stream_the_script_replaced_for_good_is_left_as_it_set_it(tmp_path):
    script = tmp_path / "redirects.py"
    script.write_text("import io, sys, torch\nsys.stdout = io.StringIO()\n"
                      "w = torch.ones(2, requires_grad=True)\n(w * 2).sum().backward()\n")
    before = sys.stdout
    try:
        run_script(script, output=lambda stream, text: None)
        assert type(sys.stdout).__name__ == "StringIO"
    finally:
        sys.stdout = before
