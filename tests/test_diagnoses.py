"""Issue 14: scripts written as users write them (no gradviz inside) fail or misbehave in
backward; ``gradviz export`` still writes the pass's graph, names the script's lines and keeps
torch's own message. Line numbers come from the scripts' text, not from gradviz."""

import json
from pathlib import Path

import pytest

from gradviz.cli import main
from gradviz.core.runner import ScriptError, run_script

SCRIPTS = Path(__file__).parent / "scripts"


def line_of(script: str, code: str) -> str:
    """``script.py:N`` of the one line holding ``code``."""
    lines = (SCRIPTS / script).read_text().splitlines()
    found = [i + 1 for i, line in enumerate(lines) if code in line]
    assert len(found) == 1, (script, code, found)
    return f"{script}:{found[0]}"


def export(script: str, tmp_path, capsys) -> tuple[int, str, Path]:
    out = tmp_path / "g.json"
    code = main(["export", str(SCRIPTS / script), "-o", str(out)])
    return code, capsys.readouterr().err, out


def failure(script: str) -> ScriptError:
    with pytest.raises(ScriptError) as caught:
        run_script(SCRIPTS / script)
    return caught.value


def test_inplace_write_to_a_saved_tensor_names_the_saving_op_and_the_write(tmp_path, capsys):
    code, err, out = export("inplace_saved.py", tmp_path, capsys)
    saved, written = (line_of("inplace_saved.py", c) for c in ("torch.sigmoid(", "hidden.mul_(2)"))
    assert code == 1
    diagnosis = [line for line in err.splitlines() if line.startswith("gradviz: ")]
    assert written in diagnosis[0] and saved in diagnosis[0]
    assert any("fix: `hidden = hidden.mul(2)` instead of `hidden.mul_(2)`" in line
               for line in diagnosis)
    # torch's message and the script's own frame stay visible
    assert "is at version 1; expected version 0 instead" in err
    assert f'inplace_saved.py", line {line_of("inplace_saved.py", "loss.backward()")[-2:]}' in err
    ops = {n["op"] for n in json.loads(out.read_text())["nodes"]}  # the failed pass, drawn
    assert {"SigmoidBackward0", "MulBackward0", "PowBackward0"} <= ops


def test_inplace_finding_marks_the_saving_node_and_the_writing_node():
    err = failure("inplace_saved.py")
    (finding,) = err.findings
    graph = err.graph
    marked = {graph.node(n).op for n in finding.nodes}
    assert marked == {"SigmoidBackward0", "MulBackward0"}
    assert finding.kind == "inplace" and finding.severity == "error"
    assert set(finding.where) == {line_of("inplace_saved.py", "torch.sigmoid("),
                                  line_of("inplace_saved.py", "hidden.mul_(2)")}


def test_an_optimizer_step_before_backward_is_named_as_the_write():
    err = failure("step_before_backward.py")
    (finding,) = err.findings
    step = line_of("step_before_backward.py", "opt.step()")
    forward = line_of("step_before_backward.py", "out = model(")
    assert step in finding.where and forward in finding.where
    assert "opt.step()" in finding.suggestion and "after the last backward" in finding.suggestion
    # the parameter written to is marked: the leaf whose tensor is the second Linear's weight
    leaves = {err.graph.node(n).name for n in finding.nodes if err.graph.node(n).kind == "leaf"}
    assert leaves == {"2.weight"}


def test_state_carried_across_steps_shows_the_earlier_pass_and_where_to_detach(tmp_path, capsys):
    code, err, out = export("carried_state.py", tmp_path, capsys)
    made = line_of("carried_state.py", "h = cell(x, h)")
    assert code == 1 and out.exists()
    assert "Trying to backward through the graph a second time" in err
    title = next(line for line in err.splitlines() if line.startswith("gradviz: "))
    assert "`h`" in title and made in title
    assert f"fix: `h = h.detach()` before {made}" in err


def test_the_earlier_part_is_exactly_the_nodes_of_the_pass_before():
    error = failure("carried_state.py")
    graph, before = error.graph, error.passes[-2]
    assert error.passes[-1] is graph
    (finding,) = error.findings
    expected = {nid for nid, fn in enumerate(graph.cols.fn)
                if graph.cols.kind[nid] != "leaf" and fn in before.index}
    assert expected and set(finding.nodes) == expected


def test_a_loss_rebuilt_from_item_names_the_item_line_and_draws_nothing(tmp_path, capsys):
    code, err, out = export("cut_by_item.py", tmp_path, capsys)
    assert code == 1 and not out.exists()  # no graph: the loss has none
    cut = line_of("cut_by_item.py", ".mean().item()")
    title = next(line for line in err.splitlines() if line.startswith("gradviz: "))
    assert title.endswith(f"the chain was cut at {cut}")
    assert line_of("cut_by_item.py", "loss.backward()") in title
    assert "RuntimeError: element 0 of tensors does not require grad" in err


def test_unused_parameters_are_one_warning_line_per_cause_and_exit_0(tmp_path, capsys):
    code, err, out = export("unused_head.py", tmp_path, capsys)
    assert code == 0 and out.exists()
    warnings = [line for line in err.splitlines() if line.startswith("gradviz: warning:")]
    assert len(warnings) == 2
    under = line_of("unused_head.py", "extra = self.aux(h)")
    no_grad = next(w for w in warnings if "no_grad" in w)
    assert under in no_grad and "aux.weight, aux.bias" in no_grad
    unused = next(w for w in warnings if w is not no_grad)
    assert "spare.weight, spare.bias" in unused and "not used" in unused


def test_a_failed_pass_that_cannot_be_drawn_still_reports_the_script_error(
        tmp_path, capsys, monkeypatch):
    import gradviz.headless as headless
    from gradviz.layout.export import ExportError

    def broken(*args, **kwargs):
        raise ExportError("the disk is full")

    monkeypatch.setattr(headless, "export", broken)
    code, err, out = export("inplace_saved.py", tmp_path, capsys)
    assert code == 1 and not out.exists()
    assert "gradviz: warning: could not draw the pass that raised: the disk is full" in err
    assert line_of("inplace_saved.py", "hidden.mul_(2)") in err
    assert "gradviz: error: inplace_saved.py raised RuntimeError: one of the variables" in err
