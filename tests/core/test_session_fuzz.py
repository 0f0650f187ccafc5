"""A few hundred mutated sessions (fields dropped, types swapped, numbers made huge, arrays
resized or replaced, zip entries swapped, dropped, encrypted, damaged): each loads and then
exports, or is refused with one SessionError line, inside a process whose memory and CPU
time are capped. ``benchmarks/fuzz_sessions.py --n 5000`` runs more of the same."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CASES, SEED = 300, 18
RUN_CASES = 150
#: Address space and CPU seconds for the whole run: torch alone maps about 0.8 GiB, and each
#: case is at most a few MB; a file that made load allocate its declared sizes (GiB) or spin
#: would hit these, and the process would die or report a MemoryError.
ADDRESS_SPACE = 2 * 2**30
CPU_SECONDS = 120

RUN = f"""
import json, pathlib, resource, sys, tempfile, warnings
resource.setrlimit(resource.RLIMIT_AS, ({ADDRESS_SPACE}, {ADDRESS_SPACE}))
resource.setrlimit(resource.RLIMIT_CPU, ({CPU_SECONDS}, {CPU_SECONDS}))
warnings.simplefilter("ignore")  # exporting may warn (a layout fallback); only errors count
from tests.core.session_files import fuzz
print(json.dumps(fuzz(int(sys.argv[1]), {SEED}, pathlib.Path(tempfile.mkdtemp()),
                      run=sys.argv[2] == "run")))
"""


def _fuzz(cases: int, kind: str) -> dict:
    out = subprocess.run([sys.executable, "-c", RUN, str(cases), kind], cwd=ROOT,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.splitlines()[-1])


def test_mutated_sessions_load_or_fail_with_one_line_within_bounds():
    report = _fuzz(CASES, "session")
    assert report["failures"] == []
    # the run means something only if both ways out were taken often
    assert report["loaded"] >= 20 and report["refused"] >= 200
    assert report["loaded"] + report["refused"] == CASES


def test_mutated_run_files_load_or_fail_with_one_line_within_bounds():
    """The same for run files: the index, either pass's session, the history's arrays; what
    loads is used as a run (every node's history, the passes compared and drawn)."""
    report = _fuzz(RUN_CASES, "run")
    assert report["failures"] == []
    assert report["loaded"] >= 10 and report["refused"] >= 100
    assert report["loaded"] + report["refused"] == RUN_CASES
