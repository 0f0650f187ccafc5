"""A SOURCE is a script, a demo name or a saved session; anything else is one clear line."""

from pathlib import Path

import pytest

import gradviz
from gradviz.sources import SourceError, open_source

SCRIPTS = Path(__file__).parent / "scripts"


def test_a_demo_name_runs_the_demo_script():
    (graph,) = open_source("linear").passes
    assert graph.find("Z").grad.tolist() == [[1.0, 1.0], [1.0, 1.0]]


def test_a_script_gets_its_arguments():
    (graph,) = open_source(str(SCRIPTS / "argv_main.py"), ["1"]).passes
    assert graph.find("x").grad.tolist() == [3.0, 3.0]


def test_a_saved_session_opens_without_running_anything(tmp_path):
    (graph,) = open_source("linear").passes
    path = gradviz.save(graph, tmp_path / "seed.gradviz")
    (loaded,) = open_source(str(path)).passes
    assert loaded.find("Z").grad.tolist() == [[1.0, 1.0], [1.0, 1.0]]


@pytest.mark.parametrize("spec, message", [
    ("missing.py", "no such file: missing.py"),
    ("missing.gradviz", "no such session file"),
    ("nodemo", "neither a file nor a demo (demos: linear"),
])
def test_bad_sources_say_what_is_wrong(spec, message):
    with pytest.raises(SourceError, match=message.replace("(", r"\(")):
        open_source(spec)


def test_a_file_that_is_not_a_session_is_refused(tmp_path):
    fake = tmp_path / "fake.gradviz"
    fake.write_text("not a zip")
    with pytest.raises(SourceError, match="cannot open"):
        open_source(str(fake))
