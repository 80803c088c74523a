"""Batch grading throughput: warm workers at --jobs 1 and 2 against a fresh Python per submission.

Generates N submissions for `linear-ae-gradients` (correct, wrong and erroring), grades them three ways
in one run, side by side, and prints submissions per second, the per-submission overhead and the
ratios. Overhead is wall time beyond the students' own compute, which the script measures by running
the same functions in-process on the same inputs.

    python bench/bench_grading.py [-n 40]

The warm pool's start-up (a sandbox that imports numpy and torch, once per worker and run) is printed
apart from the steady-state time per submission, measured between the first and the last result.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grader.api import grade_batch  # noqa: E402
from grader.reference import build_inputs  # noqa: E402
from grader.spec import load_assignment  # noqa: E402

ASSIGNMENT = ROOT / "problems" / "autoencoders"
PROBLEM = "linear-ae-gradients"
KINDS = {
    "correct": "def linear_ae_gradients(X, W1, W2):\n    E = X - W2 @ W1 @ X\n"
               "    return -2 * W2.T @ E @ X.T, -2 * E @ X.T @ W1.T\n",
    "wrong": "def linear_ae_gradients(X, W1, W2):\n    E = X - W2 @ W1 @ X\n"
             "    return -W2.T @ E @ X.T, -E @ X.T @ W1.T\n",
    "erroring": "def linear_ae_gradients(X, W1, W2):\n    return W1 @ W1\n",
}
MIX = ["correct"] * 6 + ["wrong"] * 3 + ["erroring"]


def make_submissions(folder: Path, n: int) -> None:
    for i in range(n):
        kind = MIX[i % len(MIX)]
        (folder / f"s{i:04d}-{kind}").mkdir(parents=True)
        (folder / f"s{i:04d}-{kind}" / "solution.py").write_text(f"import numpy as np\n\n{KINDS[kind]}")


def student_compute(n: int) -> float:
    """Seconds the students' own functions take on all cases, run in-process."""
    problem = load_assignment(ASSIGNMENT).problem(PROBLEM)
    inputs = [build_inputs(problem, c) for c in problem.cases]
    total = 0.0
    for i in range(n):
        namespace: dict = {}
        exec(f"import numpy as np\n{KINDS[MIX[i % len(MIX)]]}", namespace)
        start = time.perf_counter()
        for case in inputs:
            try:
                namespace["linear_ae_gradients"](case["X"], case["W1"], case["W2"])
            except ValueError:
                pass
        total += time.perf_counter() - start
    return total


def run(subs: Path, out: Path, *, jobs: int, warm: bool) -> dict:
    stamps: list[float] = []
    start = time.perf_counter()
    batch = grade_batch(subs, ASSIGNMENT, out, jobs=jobs, problems=[PROBLEM], warm=warm,
                        on_result=lambda r: stamps.append(time.perf_counter()))
    wall = time.perf_counter() - start
    n = len(batch.results)
    steady = (stamps[-1] - stamps[0]) / (n - 1) * jobs if n > 1 else wall  # seconds of a worker per submission
    return {"wall": wall, "n": n, "first": stamps[0] - start, "per_sub": steady,
            "scores": (out / "scores.csv").read_text()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=40, help="number of submissions (default 40)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="grader-bench-"))
    try:
        subs = work / "subs"
        make_submissions(subs, args.n)
        compute = student_compute(args.n) / args.n
        rows = [("fresh Python per submission", run(subs, work / "fresh", jobs=1, warm=False)),
                ("warm workers, --jobs 1", run(subs, work / "warm1", jobs=1, warm=True)),
                ("warm workers, --jobs 2", run(subs, work / "warm2", jobs=2, warm=True))]
        same = len({r["scores"] for _, r in rows}) == 1
        naive = rows[0][1]["wall"]
        print(f"{args.n} submissions of {PROBLEM} ({', '.join(sorted(set(MIX)))}); "
              f"students' own compute {compute * 1000:.2f} ms per submission\n")
        print(f"{'mode':<30} {'wall s':>8} {'subs/s':>8} {'first s':>8} {'s/sub':>8} {'overhead s':>11} {'speed-up':>9}")
        for name, r in rows:
            print(f"{name:<30} {r['wall']:>8.2f} {r['n'] / r['wall']:>8.2f} {r['first']:>8.2f} "
                  f"{r['per_sub']:>8.3f} {r['per_sub'] - compute:>11.3f} {naive / r['wall']:>8.2f}x")
        print("\n'first s': time to the first result (the warm pool's start-up); 's/sub': a worker's seconds per")
        print("submission after that; 'overhead s': s/sub minus the students' own compute.")
        print(f"identical scores.csv across the three runs: {same}")
        print(f"median steady-state overhead, warm: {statistics.median([rows[1][1]['per_sub'], rows[2][1]['per_sub']]) - compute:.3f} s")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
