"""`gradviz demo/run --select --screenshot`, the gallery, no-display message, packaged resources."""

import importlib.util
import os
import subprocess
import sys
import zipfile
from pathlib import Path

from PIL import Image

from gradviz.app.launch import launch
from gradviz.cli import build_parser
from tests.app.conftest import ROOT, out


def gradviz_cli(*args, env=None, timeout=60):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", **(env or {})}
    return subprocess.run([sys.executable, "-m", "gradviz.cli", *args], capture_output=True,
                          text=True, env=env, timeout=timeout, cwd=ROOT)


def test_demo_screenshot_with_selection():
    shot = out("cli_demo_linear_Z.png")
    shot.unlink(missing_ok=True)
    res = gradviz_cli("demo", "linear", "--select", "Z", "--screenshot", str(shot))
    assert res.returncode == 0, res.stderr
    image = Image.open(shot)
    assert image.size[0] >= 800 and image.size[1] >= 500


def test_run_script_screenshot_svg(tmp_path):
    script = tmp_path / "tiny.py"
    script.write_text("import torch, sys\nx = torch.ones(2, requires_grad=True)\n"
                      "y = (x * float(sys.argv[1])).sum()\ny.backward()\n")
    shot = tmp_path / "tiny.svg"
    res = gradviz_cli("run", "--select", "x", "--screenshot", str(shot), str(script), "3")
    assert res.returncode == 0, res.stderr
    assert "<svg" in shot.read_text()[:500]


def test_failing_script_screenshot_exits_nonzero(tmp_path):
    script = tmp_path / "bad.py"
    script.write_text("raise RuntimeError('nope')\n")
    res = gradviz_cli("run", "--screenshot", str(tmp_path / "x.png"), str(script))
    assert res.returncode == 1 and "nope" in res.stderr


def test_a_demo_that_raises_on_purpose_exits_0_and_its_script_under_run_exits_1(tmp_path):
    # the demo's failure is its lesson: shown under the diagnosis bar, it is a success
    shot = out("cli_demo_inplace_error.png")
    shot.unlink(missing_ok=True)
    res = gradviz_cli("demo", "inplace_error", "--screenshot", str(shot), timeout=120)
    assert res.returncode == 0, res.stderr
    assert "gradviz: inplace_error raises on purpose: RuntimeError: one of the variables" \
        in res.stderr
    assert Image.open(shot).size[0] >= 800
    script = ROOT / "gradviz" / "demos" / "inplace_error.py"  # the same lines as a user's
    res = gradviz_cli("run", "--screenshot", str(tmp_path / "x.png"), str(script), timeout=120)
    assert res.returncode == 1 and "gradviz: error: inplace_error.py raised" in res.stderr


def test_unknown_select_and_unknown_demo():
    res = gradviz_cli("demo", "linear", "--select", "NoSuchNode", "--screenshot", "/tmp/x.png")
    assert res.returncode == 2 and "NoSuchNode" in res.stderr
    res = gradviz_cli("demo", "nosuchdemo")
    assert res.returncode == 2 and "nosuchdemo" in res.stderr


def test_no_display_says_what_to_do(monkeypatch, capsys):
    for var in ("QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    code = launch(build_parser().parse_args(["demo", "linear"]))
    err = capsys.readouterr().err
    assert code == 2 and "gradviz export" in err and "QT_QPA_PLATFORM=offscreen" in err


def test_gallery_lists_demos(qtbot, window):
    from gradviz.demos import catalog

    names = [window.gallery.list.item(i).text() for i in range(window.gallery.list.count())]
    assert len(names) == len(catalog()) and names[0].startswith("linear")
    window.screenshot(out("gallery.png"))


def test_wheel_ships_icons_and_style_sheets(tmp_path):
    # build with the setuptools at hand when there is one: no download needed
    offline = ["--no-build-isolation"] if importlib.util.find_spec("setuptools") else []
    res = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", *offline, "-q",
                          str(ROOT), "-w", str(tmp_path)], capture_output=True, text=True,
                         timeout=300)
    assert res.returncode == 0, res.stderr
    wheel = next(Path(tmp_path).glob("gradviz-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    for name in ("light.qss", "dark.qss", "gradviz.svg", "search.svg"):
        assert f"gradviz/resources/{name}" in names
    # installed away from the repository, the app still finds them
    target = tmp_path / "site"
    res = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target",
                          str(target), str(wheel)], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    probe = ("import gradviz, gradviz.app.themes as t; print(gradviz.__file__); "
             "print(len(t.style_sheet('dark')), t.resource('gradviz.svg').is_file())")
    res = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=tmp_path,
                         env={**os.environ, "PYTHONPATH": str(target), "QT_QPA_PLATFORM": "offscreen"},
                         timeout=120)
    where, found = res.stdout.split("\n")[:2]
    assert where.startswith(str(target)), where
    assert found.split()[1] == "True" and int(found.split()[0]) > 100


def test_show_blocks_in_a_plain_script(tmp_path):
    script = tmp_path / "show.py"
    script.write_text(
        "import time, torch, gradviz\n"
        "from PySide6.QtCore import QTimer\n"
        "from PySide6.QtWidgets import QApplication\n"
        "app = QApplication([])\n"
        "QTimer.singleShot(1500, QApplication.closeAllWindows)\n"
        "x = torch.ones(2, requires_grad=True)\ny = (x * 2).sum()\ng = gradviz.trace(y)\ny.backward()\n"
        "t = time.perf_counter()\nw = gradviz.show(g)\n"
        "print('returned after', round(time.perf_counter() - t, 1))\n")
    res = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60,
                         env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert res.returncode == 0, res.stderr
    assert float(res.stdout.split()[-1]) >= 1.0  # it waited for the window to close


def test_x11_without_qt_libraries_names_the_missing_one(monkeypatch, capsys):
    from gradviz.app import display

    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setenv("DISPLAY", ":99")
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setattr(display, "missing_libraries",
                        lambda plugins: ["libxcb-icccm.so.4", "libxkbcommon-x11.so.0"])
    code = launch(build_parser().parse_args(["demo", "linear", "--theme", "dark"]))
    err = capsys.readouterr().err
    assert code == 2 and "needs libxcb-icccm.so.4, libxkbcommon-x11.so.0." in err
    assert "apt-get install libxcb-icccm4 libxkbcommon-x11-0\n" in err


ARGPARSE_SCRIPT = ("import argparse, torch\np = argparse.ArgumentParser()\n"
                   "p.add_argument('--lr', type=float, default=0.1)\na = p.parse_args()\n"
                   "x = torch.ones(2, requires_grad=True)\n(x * a.lr).sum().backward()\n")
PLAIN_SCRIPT = "import torch\nx = torch.ones(2, requires_grad=True)\n(x * 2).sum().backward()\n"


def test_gradviz_options_after_the_script_are_named_in_one_line(tmp_path):
    # an argparse script refuses --screenshot (exit 2); a plain one never reads it, and off
    # screen nothing else would ever show the window: both say where the option belongs
    for name, text, args in (("train.py", ARGPARSE_SCRIPT, ["--lr", "0.5"]),
                             ("plain.py", PLAIN_SCRIPT, [])):
        script = tmp_path / name
        script.write_text(text)
        res = gradviz_cli("run", str(script), *args, "--screenshot", "out.png", timeout=120)
        assert res.returncode == 2
        assert res.stderr.strip().splitlines()[-1] == (
            "gradviz: put gradviz's options before the script: gradviz run --screenshot out.png "
            f"{script} {' '.join(args)}".rstrip())


def test_off_screen_without_screenshot_a_failing_script_ends_the_run(tmp_path):
    script = tmp_path / "bad.py"
    script.write_text("raise RuntimeError('nope')\n")
    res = gradviz_cli("run", str(script), timeout=120)
    assert res.returncode == 1 and res.stderr.strip().splitlines()[-1].endswith(
        "bad.py raised RuntimeError: nope")


def test_screenshot_of_a_graph_never_drawn_gives_up_with_a_message(tmp_path):
    # the layout fails (a dialog nobody sees off screen): the window must not wait forever
    probe = ("import sys\nfrom gradviz.app import jobs, launch\n"
             "def broken(*args, **kwargs):\n"
             "    def job(progress, should_stop):\n        raise RuntimeError('layout broke')\n"
             "    return job\n"
             "jobs.layout_job = broken\nlaunch.UNDRAWN_GRACE_S = 1.0\n"
             "from gradviz.cli import main\nsys.exit(main(sys.argv[1:]))\n")
    shot = tmp_path / "never.png"
    res = subprocess.run([sys.executable, "-c", probe, "demo", "linear", "--screenshot", str(shot)],
                         capture_output=True, text=True, timeout=120, cwd=ROOT,
                         env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert res.returncode == 1 and not shot.exists()
    assert res.stderr.strip().splitlines()[-1] == (
        f"gradviz: no graph was drawn for {shot} (1 s with nothing left running)")


def test_screenshot_path_is_fixed_before_the_script_changes_folder(tmp_path):
    away = tmp_path / "away"
    away.mkdir()
    script = tmp_path / "moves.py"
    script.write_text(f"import os\nos.chdir({str(away)!r})\n" + PLAIN_SCRIPT)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    res = subprocess.run([sys.executable, "-m", "gradviz", "run", "--screenshot", "s.png",
                          str(script)], capture_output=True, text=True, env=env, timeout=120,
                         cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert not (away / "s.png").exists()
    assert res.stderr.strip().splitlines()[-1] == f"gradviz: saved {tmp_path / 's.png'}"
    shot = out("cli_run_after_chdir.png")
    shot.write_bytes((tmp_path / "s.png").read_bytes())
    assert Image.open(shot).size[0] >= 800


def test_ctrl_c_closes_the_window_with_one_line_and_exit_130(tmp_path):
    import signal

    script = tmp_path / "forever.py"
    script.write_text("import time\nprint('started', flush=True)\nwhile True:\n    time.sleep(0.05)\n")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    proc = subprocess.Popen([sys.executable, "-m", "gradviz", "run", str(script)], cwd=ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline() == "started\n"
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130 and err.strip().splitlines()[-1] == "gradviz: interrupted"
    assert "Traceback" not in err


def test_the_hint_knows_every_option_of_gradviz_run():
    from gradviz.cli import misplaced_hint, run_options

    args = build_parser().parse_args(["run", "train.py", "--lr", "1", "--theme=dark",
                                      "--select", "Z"])
    assert misplaced_hint(args) == ("put gradviz's options before the script: "
                                    "gradviz run --theme=dark --select Z train.py --lr 1")
    assert {"--select", "--screenshot", "--step", "--theme"} <= run_options()
    assert misplaced_hint(build_parser().parse_args(["run", "train.py", "--lr", "1"])) is None
