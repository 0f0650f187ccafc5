"""The demo gallery: a card per demo with a shipped picture of its graph, fresh; keyboard and
mouse open a demo once; the first paint never waits for the pictures; both themes."""

import fnmatch
from html import escape
import hashlib
import json
import tomllib
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage

from gradviz.app import thumbnails
from gradviz.app.gallery import Gallery
from gradviz.demos import ORDER, catalog
from tests.app.conftest import ROOT, out

THEMES = ("light", "dark")


def dot_and_graph(name: str, theme: str):
    """The DOT source of the demo's graph as the app first shows it (and the graph)."""
    from gradviz.core.runner import ScriptError
    from gradviz.layout.export import file_bytes
    from gradviz.sources import open_source

    try:
        graph = open_source(name).passes[-1]
    except ScriptError as err:  # a demo that raises on purpose: the pass that raised
        graph = err.graph
    return file_bytes(graph, "dot", theme=theme), graph


def draw_thumbnail(graph, theme: str) -> QImage:
    """The picture: Graphviz's PNG of the graph, scaled to the card's picture area."""
    from gradviz.layout.export import file_bytes

    full = QImage.fromData(file_bytes(graph, "png", theme=theme))
    return full.scaled(thumbnails.SIZE, Qt.KeepAspectRatio, Qt.SmoothTransformation)


def test_thumbnails_are_fresh(request, qapp):
    """Each shipped picture was drawn from the DOT source its demo makes now."""
    sources_file = Path(str(thumbnails.resource(thumbnails.SOURCES)))
    recorded = json.loads(sources_file.read_text()) if sources_file.exists() else {}
    update = request.config.getoption("--update-golden")
    current = {}
    for name in ORDER:
        for theme in THEMES:
            dot, graph = dot_and_graph(name, theme)
            key = f"{theme}/{name}"
            current[key] = hashlib.sha256(dot).hexdigest()
            picture = Path(str(thumbnails.path(theme, name)))
            if update:
                picture.parent.mkdir(parents=True, exist_ok=True)
                assert draw_thumbnail(graph, theme).save(str(picture), "PNG")
            image = QImage(str(picture))
            assert not image.isNull(), f"no picture {picture}: run pytest {__file__} --update-golden"
            assert image.width() <= thumbnails.SIZE.width()
            assert image.height() <= thumbnails.SIZE.height()
            assert max(image.width() / thumbnails.SIZE.width(),
                       image.height() / thumbnails.SIZE.height()) == pytest.approx(1, abs=0.01)
    if update:
        sources_file.write_text(json.dumps(current, indent=1, sort_keys=True) + "\n")
        recorded = current
    stale = sorted(k for k in current if recorded.get(k) != current[k])
    assert not stale, f"stale pictures {stale}: run pytest {__file__} --update-golden"
    assert set(recorded) == set(current)  # none left over from a removed demo


def test_package_data_ships_the_thumbnails():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["gradviz.resources"]
    shipped = [p.relative_to(ROOT / "resources").as_posix()
               for p in (ROOT / "resources" / "thumbnails").rglob("*") if p.is_file()]
    assert len(shipped) == 2 * len(ORDER) + 1
    for name in shipped:
        assert any(fnmatch.fnmatch(name, pattern) and pattern.count("/") == name.count("/")
                   for pattern in patterns), f"{name} is not in package-data"


def pictures(gallery) -> list:
    return [gallery.list.item(i).data(Qt.DecorationRole) for i in range(gallery.list.count())]


def shown(qtbot) -> Gallery:
    """A gallery just shown: no event handled yet, so nothing from a worker has arrived."""
    gallery = Gallery()
    qtbot.addWidget(gallery)
    gallery.resize(1000, 700)
    gallery.show()
    return gallery


def test_first_paint_does_not_wait_for_the_pictures(qtbot):
    gallery = shown(qtbot)
    # shown and painted with every card, while the pictures are still being decoded elsewhere
    assert gallery.list.count() == len(catalog())
    assert gallery.runner.busy and all(p is None for p in pictures(gallery))
    gallery.grab()
    assert all(p is None for p in pictures(gallery))
    qtbot.waitUntil(lambda: all(p is not None for p in pictures(gallery)), timeout=10_000)
    for name, picture in zip(ORDER, pictures(gallery)):
        shipped = QImage(str(thumbnails.path("light", name)))
        assert picture.size() == shipped.size() and picture.devicePixelRatio() == 2


def test_cards_show_name_teaching_point_and_paragraph(qtbot):
    gallery = Gallery()
    qtbot.addWidget(gallery)
    for i, demo in enumerate(catalog()):
        item = gallery.list.item(i)
        assert item.data(Qt.UserRole) == demo.name
        assert demo.summary and item.data(Qt.UserRole + 1) == demo.summary
        assert escape(demo.teaching_point) in item.toolTip()  # the full paragraph on hover
    gallery.list.setCurrentRow(3)
    assert escape(catalog()[3].teaching_point) in gallery.details.text()  # and on selection


def test_arrows_move_enter_and_click_open_once(qtbot):
    gallery = shown(qtbot)
    qtbot.waitExposed(gallery)
    opened = []
    gallery.opened.connect(opened.append)
    cards = gallery.list
    cards.setFocus()
    cards.setCurrentRow(0)
    qtbot.keyClick(cards, Qt.Key_Right)
    assert cards.currentRow() == 1
    qtbot.keyClick(cards, Qt.Key_Down)
    below = cards.currentRow()
    first, second = (cards.visualItemRect(cards.item(r)) for r in (1, below))
    assert below > 1 and second.left() == first.left() and second.top() > first.top()
    qtbot.keyClick(cards, Qt.Key_Return)
    assert opened == [ORDER[below]]
    qtbot.mouseClick(cards.viewport(), Qt.LeftButton,
                     pos=cards.visualItemRect(cards.item(2)).center())
    assert opened == [ORDER[below], ORDER[2]]
    centre = cards.visualItemRect(cards.item(0)).center()
    qtbot.mouseClick(cards.viewport(), Qt.LeftButton, pos=centre)  # a double click: a click,
    qtbot.mouseDClick(cards.viewport(), Qt.LeftButton, pos=centre)  # then the double click
    assert opened[2:] == [ORDER[0]]  # opens it once, not twice


def test_gallery_screenshots_both_themes(qtbot, window):
    gallery = window.gallery
    qtbot.waitUntil(lambda: all(p is not None for p in pictures(gallery)), timeout=10_000)
    gallery.list.setCurrentRow(1)
    window.screenshot(out("gallery_cards.png"))
    base = gallery.list.viewport().palette().base().color()
    window.change(theme="dark")
    qtbot.waitUntil(lambda: not gallery.runner.busy, timeout=10_000)
    dark = QImage(str(thumbnails.path("dark", ORDER[0])))
    assert pictures(gallery)[0].toImage().pixelColor(2, 2) == dark.pixelColor(2, 2)
    assert dark.pixelColor(2, 2).lightness() < 80  # the dark theme's pictures are dark
    window.screenshot(out("gallery_cards_dark.png"))
    assert gallery.list.viewport().palette().base().color() != base
