"""The code a finding quotes from the user's line: without its comment, strings kept whole."""

from gradviz.core.diagnoses.lines import code_at


def test_code_at_drops_the_comment_but_not_a_hash_in_a_string(tmp_path):
    script = tmp_path / "train.py"
    script.write_text("h.mul_(2)  # in place\n"
                      "tag = 'run#1'  # a '#' in a string\n"
                      "out = f(a,  # first\n"
                      "        b)\n"
                      "# a comment alone\n")
    assert code_at("train.py:1", str(script)) == "h.mul_(2)"
    assert code_at("train.py:2", str(script)) == "tag = 'run#1'"
    assert code_at("train.py:3", str(script)) == "out = f(a,"
    assert code_at("train.py:4", str(script)) == "b)"
    assert code_at("train.py:5", str(script)) is None
