"""``gradviz export``: the seed's two programs from the command line, and every bad input."""

import io
import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from pypdf import PdfReader

from gradviz.cli import main
from gradviz.headless import Progress

SCRIPTS = Path(__file__).parent / "scripts"
GRADVIZ = [sys.executable, "-m", "gradviz.cli", "export"]


@pytest.mark.parametrize("source", ["linear", str(SCRIPTS / "net1linear.py")])
def test_the_seed_programs_export_zs_gradient_from_the_command_line(source, tmp_path):
    out = tmp_path / "g.json"
    done = subprocess.run([*GRADVIZ, source, "-o", str(out)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    nodes = json.loads(out.read_text())["nodes"]
    z = next(n for n in nodes if n["name"] == "Z")
    assert z["grad"]["data"] == [[1.0, 1.0], [1.0, 1.0]]
    assert sum(z["value"]["data"], []) == pytest.approx([2.15, 2.91, 1.60, 1.26])


def test_options_reach_the_picture(tmp_path):
    out = tmp_path / "g.svg"
    assert main(["export", str(SCRIPTS / "net1linear.py"), "-o", str(out), "--labels", "full",
                 "--theme", "dark", "--title", "Net1Linear", "--collapse", "linear1",
                 "--quiet"]) == 0
    svg = out.read_text()
    assert "Net1Linear" in svg and "#1e1f22" in svg  # title, dark background
    assert "linear1" in svg and "3 ops" not in svg and "2 ops" in svg  # Addmm and T folded


def test_script_arguments_follow_a_double_dash_and_pass_picks_one(tmp_path):
    out = tmp_path / "g.json"
    assert main(["export", str(SCRIPTS / "training_loop.py"), "-o", str(out), "--pass", "2",
                 "--quiet", "--", "4"]) == 0
    assert any(n["name"] == "loss" for n in json.loads(out.read_text())["nodes"])


def test_output_picks_the_pass_of_the_named_tensor(tmp_path):
    out = tmp_path / "g.json"
    assert main(["export", str(SCRIPTS / "two_losses.py"), "-o", str(out), "--output", "first",
                 "--quiet"]) == 0
    names = {n["name"] for n in json.loads(out.read_text())["nodes"]}
    assert "first" in names and "second" not in names


def test_steps_write_one_pdf_page_per_backward_step(tmp_path):
    out = tmp_path / "steps.pdf"
    assert main(["export", "linear", "--steps", "backward", "-o", str(out), "--quiet"]) == 0
    assert len(PdfReader(out).pages) == 7  # every node of the seed graph, S to W


@pytest.mark.parametrize("argv, message", [
    (["missing.py"], "no such file: missing.py"),
    ([str(SCRIPTS / "raises.py")], "raises.py raised RuntimeError"),
    ([str(SCRIPTS / "no_backward.py")], "finished without a backward pass"),
    (["linear", "--pass", "9"], "there is no pass 9"),
    (["linear", "--output", "nothing"], "no backward pass from a tensor named 'nothing'"),
])
def test_bad_input_is_one_line_and_a_nonzero_exit(argv, message, tmp_path, capsys):
    assert main(["export", *argv, "-o", str(tmp_path / "g.svg")]) == 1
    err = capsys.readouterr().err
    last = err.strip().splitlines()[-1]
    assert last.startswith("gradviz: error: ") and message in last
    assert "gradviz/" not in err  # never gradviz's own traceback


@pytest.mark.parametrize("name, message", [("g.txt", "the suffix must be one of"),
                                           ("nowhere/g.svg", "does not exist")])
def test_bad_output_paths_fail_before_running_the_script(name, message, tmp_path, capsys):
    assert main(["export", str(SCRIPTS / "raises.py"), "-o", str(tmp_path / name)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err  # the script did not even run


def test_a_failing_script_shows_its_traceback_from_the_command_line(tmp_path):
    done = subprocess.run([*GRADVIZ, str(SCRIPTS / "raises.py"), "-o", str(tmp_path / "g.svg")],
                          capture_output=True, text=True)
    assert done.returncode == 1
    assert done.stderr.startswith("Traceback (most recent call last):")
    assert "in broken" in done.stderr and "gradviz" not in done.stderr.rsplit("\n", 2)[0]


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_only_on_a_terminal_after_the_delay(monkeypatch):
    monkeypatch.setattr(Progress, "DELAY", 0.0)
    tty, pipe = Terminal(), io.StringIO()
    Progress(False, tty)("dot: laying out 10 nodes", 0.5)
    Progress(False, pipe)("dot: laying out 10 nodes", 0.5)
    Progress(True, Terminal())("quiet", 0.5)
    assert "50% dot: laying out 10 nodes" in tty.getvalue() and pipe.getvalue() == ""
    monkeypatch.setattr(Progress, "DELAY", 60.0)
    late = Terminal()
    Progress(False, late)("fast", 0.5)
    assert late.getvalue() == ""


def test_a_layout_that_falls_back_says_so_in_one_line(tmp_path, capsys, monkeypatch):
    from gradviz import layout as layout_module
    from gradviz.layout import cache
    from gradviz.layout.graphviz_errors import GraphvizFailed

    def too_slow(*args, **kwargs):
        raise GraphvizFailed("dot took more than 60 s")

    monkeypatch.setattr(layout_module, "run_graphviz", too_slow)
    monkeypatch.setattr(cache, "_store", {})
    out = tmp_path / "g.svg"
    assert main(["export", str(SCRIPTS / "net1linear.py"), "-o", str(out), "--quiet"]) == 0
    err = capsys.readouterr().err
    assert err == "gradviz: warning: dot took more than 60 s; showing the layered layout instead.\n"
    assert ET.parse(out).getroot().tag == "{http://www.w3.org/2000/svg}svg"


def _script(tmp_path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


def test_a_deep_hooked_graph_is_freed_without_overflowing_the_stack(tmp_path):
    # 100,000 traced nodes: torch frees them recursively, beyond the main thread's 8 MB
    chain = _script(tmp_path, "chain.py", "import torch\nx = torch.ones(1, requires_grad=True)\n"
                    "y = x\nfor _ in range(100_000):\n    y = y.neg()\ny.backward()\n")
    out = tmp_path / "g.dot"
    done = subprocess.run([*GRADVIZ, str(chain), "-o", str(out), "--quiet"], capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    dot = out.read_text()
    assert dot.count('label="Neg"]') == 99_999 and dot.count(" -> ") == 100_000


def test_a_script_that_installs_signal_handlers_runs_as_under_python(tmp_path):
    # signal.signal works only in the main thread: training scripts install SIGTERM handlers
    script = _script(tmp_path, "handlers.py", "import signal, torch\n"
                     "signal.signal(signal.SIGTERM, lambda *a: print('checkpoint'))\n"
                     "x = torch.ones(2, requires_grad=True)\n(x * 2).sum().backward()\n"
                     "print('trained')\n")
    done = subprocess.run([*GRADVIZ, str(script), "-o", str(tmp_path / "g.json"), "--quiet"],
                          capture_output=True, text=True, timeout=120)
    assert (done.returncode, done.stdout, done.stderr) == (0, "trained\n", "")


@pytest.mark.parametrize("body", [
    "import os, signal\ntry:\n    os.kill(os.getpid(), signal.SIGINT)\n    while True:\n"
    "        pass\nexcept KeyboardInterrupt:\n    print('saved a checkpoint')\n    raise\n",
    "print('saved a checkpoint')\nraise KeyboardInterrupt\n",
    # a script that swallows the first Ctrl+C: the second one ends gradviz at once
    "import os, signal\ntry:\n    os.kill(os.getpid(), signal.SIGINT)\n    while True:\n"
    "        pass\nexcept KeyboardInterrupt:\n    print('saved a checkpoint', flush=True)\n"
    "    os.kill(os.getpid(), signal.SIGINT)\n    while True:\n        pass\n"])
def test_ctrl_c_is_one_line_and_exit_130(body, tmp_path):
    script = _script(tmp_path, "loop.py", body)
    done = subprocess.run([*GRADVIZ, str(script), "-o", str(tmp_path / "g.json")],
                          capture_output=True, text=True, timeout=120)
    assert (done.returncode, done.stderr) == (130, "gradviz: interrupted\n")
    assert done.stdout == "saved a checkpoint\n"  # the script's own handler ran, as in Python


def test_a_relative_output_path_is_fixed_before_the_script_changes_folder(tmp_path):
    away = tmp_path / "away"
    away.mkdir()
    script = _script(tmp_path, "moves.py", f"import os, torch\nos.chdir({str(away)!r})\n"
                     "x = torch.ones(2, requires_grad=True)\n(x * 2).sum().backward()\n")
    done = subprocess.run([*GRADVIZ, str(script), "-o", "g.json"], capture_output=True, text=True,
                          cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads((tmp_path / "g.json").read_text())["nodes"]
    assert not (away / "g.json").exists()
    assert done.stderr == f"wrote {tmp_path / 'g.json'}\n"


@pytest.mark.parametrize("option, value", [("--dpi", "0"), ("--dpi", "-96"), ("--scale", "nan"),
                                           ("--scale", "0"), ("--scale", "inf")])
def test_sizes_must_be_positive_numbers(option, value, tmp_path, capsys):
    out = tmp_path / "g.svg"
    with pytest.raises(SystemExit) as exited:
        main(["export", "linear", "-o", str(out), option, value])
    assert exited.value.code == 2 and not out.exists()
    assert f"argument {option}: must be a number above 0, not {value}" in capsys.readouterr().err


@pytest.mark.parametrize("source, message", [
    (b"open('ran', 'w')\n# \x00\n", ", line 2: SyntaxError: source code cannot contain null bytes"),
    (b"# -*- coding: nosuch -*-\nopen('ran', 'w')\n", ": SyntaxError: unknown encoding: nosuch"),
    (b"# caf\xe9\nopen('ran', 'w')\n", ": SyntaxError: invalid or missing encoding declaration"),
    (b"open('ran', 'w')\n# caf\xe9\n", ", line 2: SyntaxError: bytes that are not utf-8"),
    (b"open('ran', 'w')\nx = 1\nx = 'caf\xe9'\n", ", line 3: SyntaxError: bytes that are not utf-8"),
    (b"open('ran', 'w')\ndef (:\n", ", line 2: SyntaxError: invalid syntax"),
])
def test_a_script_python_would_refuse_is_refused_before_it_runs(source, message, tmp_path,
                                                                  capsys, monkeypatch):
    script = _script(tmp_path, "bad.py", source)
    monkeypatch.chdir(tmp_path)
    python = subprocess.run([sys.executable, str(script)], capture_output=True, text=True)
    assert python.returncode == 1 and "SyntaxError" in python.stderr and not Path("ran").exists()
    assert main(["export", str(script), "-o", str(tmp_path / "g.json")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("gradviz: error: bad.py") and message in err and err.count("\n") == 1
    assert not Path("ran").exists()


def test_a_folder_named_like_a_script_is_called_a_folder(tmp_path, capsys):
    (tmp_path / "x.py").mkdir()
    assert main(["export", str(tmp_path / "x.py"), "-o", str(tmp_path / "g.json")]) == 1
    assert capsys.readouterr().err == f"gradviz: error: cannot open {tmp_path / 'x.py'}: " \
                                      "it is a folder, not a Python script\n"


def test_python_dash_m_gradviz_is_the_gradviz_command(tmp_path):
    out = tmp_path / "x.json"
    done = subprocess.run([sys.executable, "-m", "gradviz", "export", "linear", "-o", str(out)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    z = next(n for n in json.loads(out.read_text())["nodes"] if n["name"] == "Z")
    assert z["grad"]["data"] == [[1.0, 1.0], [1.0, 1.0]]
    command = Path(sys.executable).with_name("gradviz")  # the console script pip installed
    for args in (["--help"], ["export", "--help"]):
        module = subprocess.run([sys.executable, "-m", "gradviz", *args], capture_output=True,
                                text=True, timeout=60)
        script = subprocess.run([str(command), *args], capture_output=True, text=True, timeout=60)
        assert module.returncode == script.returncode == 0
        assert module.stdout == script.stdout and module.stdout.startswith("usage: gradviz ")


def test_memory_colours_nodes_by_saved_bytes_with_a_legend(tmp_path):
    from gradviz.core.runner import run_script
    from gradviz.demos import find
    from gradviz.layout import layout
    from gradviz.layout.memory_fill import MEMORY_RAMP

    out = tmp_path / "g.svg"
    assert main(["export", "mlp", "-o", str(out), "--memory", "--expand", "--quiet"]) == 0
    root = ET.parse(out).getroot()
    ns = {"s": "http://www.w3.org/2000/svg"}
    fills = {g.find("s:title", ns).text: g.find("s:rect", ns).get("fill")
             for g in root.iter("{http://www.w3.org/2000/svg}g")
             if (g.get("class") or "").startswith("node op")}
    graph = run_script(find("mlp").path).passes[-1]
    # the heaviest op (by the graph's own count, each storage once) is the darkest
    heaviest = max((n for n in range(len(graph)) if graph.cols.kind[n] == "op"),
                   key=lambda n: graph.memory.node_bytes(n))
    assert fills[str(heaviest)] == MEMORY_RAMP[-1]
    assert fills == {str(k): b.fill for k, b in layout(graph, color_by="memory").nodes.items()
                     if b.kind == "op"}
    assert "saves nothing" in out.read_text()


def test_memory_and_grad_norm_are_one_or_the_other(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["export", "mlp", "-o", str(tmp_path / "g.svg"), "--memory", "--grad-norm"])
    assert "not allowed with argument" in capsys.readouterr().err
