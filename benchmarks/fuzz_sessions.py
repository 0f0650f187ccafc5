"""Many mutated sessions through ``gradviz.load`` (and the exporters when they load).

    .venv/bin/python benchmarks/fuzz_sessions.py [--n 5000] [--seed 0] [--memory-gib 2]

The test suite runs 300 cases (tests/core/test_session_fuzz.py); this runs as many as asked,
with the same mutations (tests/core/session_files.py), under the same kind of bound: the
process's address space capped with RLIMIT_AS. It prints how many loaded and how many were
refused, every case that broke the rule (another exception, a message of several lines,
an export that failed), and the mean time per case as a ratio against loading the unchanged
session in the same run. Exits 1 when any case broke the rule.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import gradviz  # noqa: E402
from tests.core.session_files import captured_graph, captured_run, fuzz  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=5000, help="mutated sessions to load")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--memory-gib", type=float, default=2.0, help="RLIMIT_AS, GiB")
    parser.add_argument("--run", action="store_true", help="mutate run files, not sessions")
    args = parser.parse_args()
    limit = int(args.memory_gib * 2**30)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    warnings.simplefilter("ignore")
    folder = Path(tempfile.mkdtemp(prefix="gradviz-fuzz-"))

    good = gradviz.save(captured_run() if args.run else captured_graph(),
                        folder / "good.gradviz")
    start = time.perf_counter()
    for _ in range(50):
        gradviz.load(good)
    baseline = (time.perf_counter() - start) / 50

    start = time.perf_counter()
    report = fuzz(args.n, args.seed, folder, run=args.run)
    per_case = (time.perf_counter() - start) / args.n
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10
    print(f"{args.n} cases (seed {args.seed}): {report['loaded']} loaded and exported, "
          f"{report['refused']} refused, {len(report['failures'])} broke the rule")
    print(f"per case {per_case * 1e3:.1f} ms = {per_case / baseline:.1f}x loading the unchanged "
          f"session ({baseline * 1e3:.1f} ms); peak RSS {peak:.0f} MiB")
    for line in report["failures"]:
        print("  " + line)
    return 1 if report["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
