"""``gradviz export SCRIPT --diff A:B``: two passes of a branching model compared, as an SVG
(parsed: fills and legend) and as JSON (every node's ratio, against the script's own hooks);
``-o run.gradviz`` on a machine without Qt, compared later from the file."""

import json
import math
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

import gradviz
from gradviz.cli import main
from gradviz.layout import diffstyle
from tests.core.test_qt_free import NO_QT

SCRIPT = str(Path(__file__).parent / "scripts" / "branching_loop.py")
SVG = "{http://www.w3.org/2000/svg}"


def test_diff_json_holds_each_nodes_norms_and_log_ratio(tmp_path):
    out, seen = tmp_path / "d.json", tmp_path / "seen.json"
    assert main(["export", SCRIPT, "-o", str(out), "--diff", "1:2", "--quiet", "--",
                 str(seen)]) == 0
    d = json.loads(out.read_text())
    a, b = json.loads(seen.read_text())
    assert (d["a"], d["b"], d["measure"]) == ("pass 1", "pass 2", "grad")
    by_id = {n["id"]: n for n in d["nodes"]}
    hidden = next(n for n in d["nodes"] if n["name"] == "hidden")
    assert hidden["in"] == "both"
    assert hidden["grad_norm_a"] == pytest.approx(a["grad"], rel=1e-6)
    assert hidden["grad_log10_ratio"] == pytest.approx(math.log10(b["grad"] / a["grad"]),
                                                       rel=1e-5)
    assert hidden["value_log10_ratio"] == pytest.approx(math.log10(b["value"] / a["value"]),
                                                        rel=1e-5)
    assert sorted(by_id[u]["op"] for u in d["only_a"]) == ["MulBackward0", "TanhBackward0"]
    assert [by_id[u]["op"] for u in d["only_b"]] == ["SigmoidBackward0"]
    assert all(by_id[u]["grad_log10_ratio"] is None for u in d["only_a"] + d["only_b"])
    ranked = [abs(by_id[u]["grad_log10_ratio"]) for u in d["biggest"]]
    assert ranked == sorted(ranked, reverse=True)
    assert ranked[0] == max(abs(n["grad_log10_ratio"]) for n in d["nodes"]
                            if n["grad_log10_ratio"] is not None)


def _fills(svg_text: str) -> list[tuple[str, str]]:
    """(first text line, fill) of each drawn node's shape, from the parsed SVG."""
    root = ET.fromstring(svg_text)
    fills = []
    for g in root.iter(f"{SVG}g"):
        shape = next((e for e in g if e.tag in (f"{SVG}rect", f"{SVG}ellipse",
                                                 f"{SVG}polygon", f"{SVG}path")), None)
        text = next(g.iter(f"{SVG}text"), None)
        if shape is not None and text is not None and shape.get("fill"):
            fills.append(("".join(text.itertext()).strip(), shape.get("fill")))
    return fills


def test_diff_svg_draws_the_branches_apart_with_a_legend(tmp_path):
    out = tmp_path / "d.svg"
    assert main(["export", SCRIPT, "-o", str(out), "--diff", "1:2", "--expand",
                 "--quiet"]) == 0
    text = out.read_text()
    fills = _fills(text)
    # pass 1's branch: Tanh and out = ... * 2; pass 2's: out = sigmoid(...)
    assert sorted(f for _, f in fills if f in (diffstyle.ONLY_A, diffstyle.ONLY_B)) == \
        [diffstyle.ONLY_B, diffstyle.ONLY_A, diffstyle.ONLY_A]
    assert ("Tanh", diffstyle.ONLY_A) in fills and ("out", diffstyle.ONLY_B) in fills
    hidden = dict(fills)["hidden"]  # its gradient shrank: a blue, not the white of no change
    assert int(hidden[5:7], 16) > int(hidden[1:3], 16)
    assert "only in pass 1" in text and "only in pass 2" in text
    assert diffstyle.ONLY_BORDER["a"] in text


def test_bad_diff_arguments_are_one_line(tmp_path, capsys):
    out = str(tmp_path / "d.svg")
    assert main(["export", SCRIPT, "-o", out, "--diff", "1:9", "--quiet"]) == 1
    assert "there is no pass 9: the script made 2 backward passes" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["export", SCRIPT, "-o", out, "--diff", "1-2"])
    assert "takes two pass numbers A:B" in capsys.readouterr().err
    run = tmp_path / "run.gradviz"
    assert main(["export", SCRIPT, "-o", str(run), "--first", "0", "--quiet"]) == 1
    assert "no pass was traced (--first 0)" in capsys.readouterr().err and not run.exists()


EXPORT_WITHOUT_QT = NO_QT + """
from gradviz.cli import main
code = main(sys.argv[1:])
assert not any(m.startswith(('PySide6', 'shiboken6')) for m in sys.modules)
sys.exit(code)
"""


def test_a_headless_machine_writes_a_run_file_that_compares_as_the_script_did(tmp_path):
    """The headless path (no Qt importable) writes the run; its passes compare later."""
    run, seen = tmp_path / "run.gradviz", tmp_path / "seen.json"
    done = subprocess.run([sys.executable, "-c", EXPORT_WITHOUT_QT, "export", SCRIPT, "-o",
                           str(run), "--", str(seen)], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert f"wrote {run}" in done.stderr
    loaded = gradviz.load(run)
    assert [g.info["index"] for g in loaded.passes] == [1, 2]
    a, b = json.loads(seen.read_text())
    np.testing.assert_allclose(loaded.history("hidden").grad_norm, [a["grad"], b["grad"]],
                               rtol=1e-6)
    out = tmp_path / "d.json"
    assert main(["export", str(run), "-o", str(out), "--diff", "1:2", "--quiet"]) == 0
    hidden = next(n for n in json.loads(out.read_text())["nodes"] if n["name"] == "hidden")
    assert hidden["grad_log10_ratio"] == pytest.approx(math.log10(b["grad"] / a["grad"]),
                                                       rel=1e-5)
