"""The DOT text is deterministic and matches the golden files (``--update-golden`` rewrites)."""

from pathlib import Path

import pytest

from gradviz.core.runner import run_script
from gradviz.demos import find
from gradviz.layout.export import file_bytes

GOLDEN = Path(__file__).parent.parent / "golden"

CASES = {
    "seed_compact": ("seed", {}),
    "seed_values": ("seed", {"labels": "values", "color_by": "grad_norm"}),
    "net1linear_full_dark": ("net", {"labels": "full", "theme": "dark"}),
    "mlp_clusters": ("mlp", {}),
    "mlp_collapsed": ("mlp", {"collapsed": {"0", "1"}}),
}


@pytest.mark.parametrize("name", CASES)
def test_dot_matches_golden(name, request):
    fixture, options = CASES[name]
    text = file_bytes(request.getfixturevalue(fixture), "dot", **options).decode()
    path = GOLDEN / f"{name}.dot"
    if request.config.getoption("--update-golden"):
        path.write_text(text)
    assert path.exists(), f"no golden file {path.name}: run pytest --update-golden"
    assert text == path.read_text()


def test_two_runs_of_a_script_give_the_same_text_byte_for_byte():
    first, again = (file_bytes(run_script(find("linear").path).passes[-1], "dot", labels="values")
                    for _ in range(2))
    assert first == again
