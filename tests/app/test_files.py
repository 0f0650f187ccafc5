"""File menu work: export of the graph and of the view, sessions, scripts that fail."""

import json
import xml.etree.ElementTree as ET

import pytest
from PIL import Image
from pypdf import PdfReader
from PySide6.QtWidgets import QMessageBox

import gradviz
from gradviz.app.recent import recent_files
from tests.app.conftest import click, draw, out

SVG = "{http://www.w3.org/2000/svg}"


def svg_text(path) -> str:
    return " ".join(t.text or "" for t in ET.parse(path).getroot().iter(f"{SVG}text"))


@pytest.mark.parametrize("suffix", [".svg", ".json", ".png"])
def test_export_graph(qtbot, window, seed_graph, tmp_path, suffix):
    draw(qtbot, window, seed_graph)
    path = tmp_path / f"graph{suffix}"
    with qtbot.waitSignal(window.runner.idle, timeout=30_000):
        window.export_graph(str(path))
    if suffix == ".svg":
        assert "Z" in svg_text(path) and "Addmm" in svg_text(path)
    elif suffix == ".json":
        data = json.loads(path.read_text())
        z = next(n for n in data["nodes"] if n["name"] == "Z")
        assert z["grad"]["data"] == [[1.0, 1.0], [1.0, 1.0]]
    else:
        assert Image.open(path).size[0] > 50


def test_export_view_as_seen(qtbot, window, seed_graph, tmp_path):
    draw(qtbot, window, seed_graph)
    click(qtbot, window.view, seed_graph.find("Z").id)
    size = window.view.viewport().size()
    png = tmp_path / "view.png"
    window.export_view(str(png))
    image = Image.open(png).convert("RGB")
    assert image.size == (size.width(), size.height())
    # the selection's accent colour is in the picture: highlights are exported as seen
    accent = tuple(int(window.view.theme.accent[i:i + 2], 16) for i in (1, 3, 5))
    assert any(px == accent for px in image.get_flattened_data())
    image.save(out("export_view.png"))
    window.export_view(str(tmp_path / "view.svg"))
    assert "Addmm" in svg_text(tmp_path / "view.svg")
    window.export_view(str(tmp_path / "view.pdf"))
    assert len(PdfReader(tmp_path / "view.pdf").pages) == 1
    window.screenshot(str(tmp_path / "window.pdf"))
    pages = PdfReader(tmp_path / "window.pdf").pages
    assert len(pages) == 1 and "AddmmBackward0" in pages[0].extract_text()  # vector text


def test_session_round_trip_and_recent(qtbot, window, seed_graph, tmp_path):
    draw(qtbot, window, seed_graph)
    path = tmp_path / "seed.gradviz"
    window.save_session(str(path))
    assert str(path.resolve()) in recent_files()
    recent = next(a.menu() for a in window.menuBar().actions()[0].menu().actions()
                  if a.menu() is not None and "Recent" in a.text())
    recent.aboutToShow.emit()  # File ▸ Recent files is filled when it opens
    assert str(path.resolve()) in [a.text() for a in recent.actions()]
    with qtbot.waitSignal(window.layout_applied, timeout=30_000):
        window.open_path(str(path))
    assert window.graph is not seed_graph
    assert window.graph.find("Z").grad.tolist() == [[1.0, 1.0], [1.0, 1.0]]


def test_failing_script_shows_traceback_and_app_stays_up(qtbot, window, seed_graph, tmp_path):
    draw(qtbot, window, seed_graph)
    script = tmp_path / "broken.py"
    script.write_text("import torch\n\ndef helper():\n    raise ValueError('shapes do not match')\n\nhelper()\n")
    with qtbot.waitSignal(window.source_failed, timeout=30_000):
        window.open_source(str(script))
    box = window.last_error
    assert isinstance(box, QMessageBox) and box.isVisible()
    assert "ValueError" in box.text() and "shapes do not match" in box.text()
    assert "helper" in box.informativeText() and "broken.py" in box.informativeText()
    window.screenshot(out("error_dialog.png"))
    box.grab().save(str(out("error_dialog_box.png")))
    box.close()
    # still alive and still showing the graph it had
    assert window.graph is seed_graph and window.isVisible()
    click(qtbot, window.view, seed_graph.find("Z").id)
    assert "[[1, 1], [1, 1]]" in window.inspector.text()


def test_script_without_backward_explains(qtbot, window, tmp_path):
    script = tmp_path / "forward_only.py"
    script.write_text("import torch\nx = torch.ones(2, requires_grad=True)\ny = (x * 2).sum()\n")
    with qtbot.waitSignal(window.source_failed, timeout=30_000):
        window.open_source(str(script))
    assert "backward" in window.last_error.text()


def test_several_passes_give_a_newest_first_selector(qtbot, window, tmp_path):
    script = tmp_path / "train.py"
    script.write_text(
        "import torch\nw = torch.ones(2, requires_grad=True)\n"
        "for step in range(3):\n    loss = (w * (step + 1)).sum()\n    loss.backward()\n")
    with qtbot.waitSignal(window.layout_applied, timeout=30_000):
        window.open_source(str(script))
    assert window.pass_bar.isVisible() and window.pass_box.count() == 3
    assert "newest" in window.pass_box.itemText(0)
    assert window.graph is window.passes[-1]
    with qtbot.waitSignal(window.layout_applied, timeout=30_000):
        window.pass_box.activated.emit(2)  # the oldest
    assert window.graph is window.passes[0]
    assert window.graph.find("w").grad.tolist() == [1.0, 1.0]


def test_show_does_not_block_where_a_loop_runs(qtbot, seed_graph):
    w = gradviz.show(seed_graph, select="Z", block=False)
    qtbot.addWidget(w)
    qtbot.waitUntil(lambda: w.view.selected == seed_graph.find("Z").id, timeout=30_000)
    assert "[[1, 1], [1, 1]]" in w.inspector.text()


def test_pass_selector_keeps_the_newest(qtbot, window, tmp_path, monkeypatch):
    from gradviz.app import jobs

    monkeypatch.setattr(jobs, "KEEP_PASSES", 3)
    script = tmp_path / "loop.py"
    script.write_text("import torch\nw = torch.ones(2, requires_grad=True)\n"
                      "for step in range(5):\n    (w * (step + 1)).sum().backward()\n")
    with qtbot.waitSignal(window.layout_applied, timeout=30_000):
        window.open_source(str(script))
    labels = [window.pass_box.itemText(i) for i in range(window.pass_box.count())]
    assert labels == ["pass 5 of 5 (newest)", "pass 4 of 5", "pass 3 of 5"]
