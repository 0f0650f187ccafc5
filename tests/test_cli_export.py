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
    from gradviz.layout.graphviz_run import GraphvizFailed

    def too_slow(*args, **kwargs):
        raise GraphvizFailed("dot took more than 60 s")

    monkeypatch.setattr(layout_module, "run_graphviz", too_slow)
    monkeypatch.setattr(cache, "_store", {})
    out = tmp_path / "g.svg"
    assert main(["export", str(SCRIPTS / "net1linear.py"), "-o", str(out), "--quiet"]) == 0
    err = capsys.readouterr().err
    assert err == "gradviz: warning: dot took more than 60 s; showing the layered layout instead.\n"
    assert ET.parse(out).getroot().tag == "{http://www.w3.org/2000/svg}svg"
