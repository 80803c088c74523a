"""Timed training (regularized-ae): the reference's time-to-target, steps per second, grading time per submission.

Prints, for this machine and for its CUDA GPU when it has one:

1. **in-process**: the driver's training loop on the reference setup, run directly in this process on
   each device (``cpu`` and, when torch sees one, ``cuda``): time-to-target, steps to target, steps/s.
   This is the raw speed, without sandbox overhead.
2. **sandboxed**: the reference timing exactly as a grade run measures it (the same driver in a fresh
   sandbox that no submission has touched, on the device the students' sandboxes see, timed by the
   grader's clock), repeated ``--repeat`` times with a fresh run each time: time-to-target (median, min,
   max), steps, steps/s and the budget it sets; and, interleaved with it for comparison, the same timing in
   a warm worker (where grade runs measured it before: a warm worker has run students' code).
3. **grading**: the whole problem (every case, all three checks) per submission, for a correct and a
   wrong setup, with warm workers (bubblewrap; with a GPU, warm workers that see it) and with a fresh
   sandbox per submission, and the ratio of the two.

    python bench/bench_training.py [--repeat 3] [--skip-fresh]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grader.api import grade_submission  # noqa: E402
from grader.driven import Sandbox  # noqa: E402
from grader.grading import ALL, RunOptions, warm_pool_for  # noqa: E402
from grader.reference import CaseBook, load_module  # noqa: E402
from grader import machine  # noqa: E402
from grader.sandbox import gpu, isolation  # noqa: E402
from grader.sandbox.drivers import regularized_training as driver  # noqa: E402
from grader.spec import load_assignment  # noqa: E402
from grader.training.calibration import Timing, measure, reference_timing, step_budget, training_check  # noqa: E402
from grader.training.closed_form import from_expected  # noqa: E402
from grader.training.curve import read_run  # noqa: E402

ASSIGNMENT = ROOT / "problems" / "autoencoders"
SUBMISSIONS = ROOT / "submissions"
PROBLEM = "regularized-ae"
SAMPLES = {"correct": "regularized-sum-sgd", "wrong (weight_decay=lam)": "regularized-wd-lam"}


def in_process(problem, book: CaseBook, device: str) -> list[tuple[str, float, int, float]]:
    """The driver's loop on the reference setup in this process: (case, time-to-target, steps, steps/s)."""
    reference = vars(load_module(problem.reference))
    rows = []
    for case in problem.cases:
        params = training_check(problem, case).params
        inputs = book.inputs(problem, case)
        cf = from_expected(book.expected(problem, case)["closed_form"])
        settings = {"budget_seconds": 120, "max_steps": params.max_steps, "target_tol": params.tol,
                    "snapshot_every": params.snapshot_every, "device": device, "seed": case.seed}
        ticks: list[float] = []
        start = time.perf_counter()
        out = driver.run(reference, inputs["X"], inputs["lam"], inputs["lr"], inputs["W1_init"], inputs["W2_init"],
                         settings, tick=lambda: ticks.append(time.perf_counter() - start))
        run = read_run(out["training"], tuple(ticks), inputs["X"], cf, params.tol)
        rows.append((case.id, run.time_to_target, run.steps_to_target, run.steps_per_second or 0.0,
                     out["training"]["device"]))
    return rows


def sandboxed(problem, repeat: int, pool) -> list[tuple]:
    """The reference timing as a grade run measures it (a fresh sandbox), ``repeat`` fresh runs per case, and
    interleaved with them, where ``pool`` is a warm pool, the same timing in one of its warm workers."""
    rows = []
    sandbox = Sandbox("auto", (ASSIGNMENT,), pool)
    for case in problem.cases:
        params = training_check(problem, case).params
        refs, warm = [], []
        for _ in range(repeat):
            book = CaseBook()  # a fresh run: measured again
            refs.append(reference_timing(problem, case, book, sandbox, params))
            if pool is not None:
                warm.append(measure(problem, case, book, params, problem.limits, mode="auto",
                                    secrets=[ASSIGNMENT], pool=pool))
        for where, timings in (("fresh sandbox", refs), ("warm worker", warm)):
            if not timings:
                continue
            median = sorted(timings, key=lambda r: r.seconds)[len(timings) // 2]
            budget = Timing(problem, case, book, Sandbox(), params).budget(median)[0]
            rows.append((where, case.id, [r.seconds for r in timings], median.steps,
                         statistics.median(r.steps_per_second or 0.0 for r in timings), median.device, budget,
                         step_budget(problem, case, book, params)[0]))
    return rows


def grading(assignment, problem, pool, repeat: int) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    book = CaseBook()
    options = RunOptions(ALL, "auto", (ASSIGNMENT, SUBMISSIONS), pool)
    grade_submission(SUBMISSIONS / SAMPLES["correct"], assignment, problems=[problem], options=options, book=book)
    for label, student in SAMPLES.items():  # the reference timing is measured above, once per run
        seconds = []
        for _ in range(repeat):
            start = time.perf_counter()
            result = grade_submission(SUBMISSIONS / student, assignment, problems=[problem], options=options, book=book)
            seconds.append(time.perf_counter() - start)
        out[f"{label}: {result.problems[0].score:g}/{result.problems[0].max_score:g}"] = seconds
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="repetitions of each measurement (default 3)")
    parser.add_argument("--skip-fresh", action="store_true", help="skip grading with a fresh Python per submission")
    args = parser.parse_args()
    assignment = load_assignment(ASSIGNMENT)
    problem = assignment.problem(PROBLEM)
    book = CaseBook()
    for case in problem.cases:
        book.expected(problem, case)

    import torch  # the in-process measurements only

    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    print(f"torch {torch.__version__}; devices seen in this process: {', '.join(devices)}; "
          f"NVIDIA device nodes: {len(gpu.devices())}; sandbox: {isolation.resolve_mode('auto')}")
    probe = machine.gpu_probe([problem], "auto", [ASSIGNMENT, SUBMISSIONS])
    fresh_gpu = bool(probe and probe.devices)  # a fresh sandbox for this problem then sees the GPU
    print(f"GPU: {probe.describe() if probe else 'the problem does not ask for one'}\n")
    print("1. in-process training loop (reference setup, one thread on the CPU)")
    print(f"   {'device':<30} {'case':<16} {'to target s':>11} {'steps':>6} {'steps/s':>9}")
    for device in devices:
        in_process(problem, book, device)  # warm-up: imports, CUDA context, vmap
        for case, seconds, steps, rate, used in in_process(problem, book, device):
            print(f"   {used:<30} {case:<16} {seconds:>11.3f} {steps:>6} {rate:>9.0f}")

    pool = None
    if isolation.resolve_mode("auto") == "bwrap":
        from grader.sandbox.pool import WarmPool

        pool = WarmPool(1, [ASSIGNMENT, SUBMISSIONS])
    try:
        warm = warm_pool_for(problem, pool)  # with a GPU: warm workers that see it, where CUDA works in them
        if pool is not None and warm is not pool:
            print(f"warm workers that see the GPU: {gpu.probe_warm(problem.limits, pool.for_gpu()).describe()}")
        where = ("warm worker" + (" that sees the GPU" if warm.gpu else "")) if warm else \
            ("fresh sandbox with the GPU" if fresh_gpu else "fresh Python")
        fresh_where = "fresh sandbox with the GPU" if fresh_gpu and (warm is None or warm.gpu) else "fresh sandbox"
        print(f"\n2. reference timing as a grade run measures it ({fresh_where}, {args.repeat} runs"
              + (f"; interleaved: in a {where}, as before)" if warm else ")"))
        print(f"   {'where':<14} {'device':<20} {'case':<16} {'median s':>9} {'min s':>7} {'max s':>7} {'steps':>6} "
              f"{'steps/s':>8} {'budget s':>9} {'budget steps':>13}")
        for place, case, times, steps, rate, device, budget, steps_budget in sandboxed(problem, args.repeat, warm):
            print(f"   {place:<14} {device:<20} {case:<16} {statistics.median(times):>9.3f} {min(times):>7.3f} "
                  f"{max(times):>7.3f} {steps:>6} {rate:>8.0f} {budget:>9.3g} {steps_budget:>13}")
        # a grade run uses warm workers where it can, so those are always measured; fresh ones besides
        modes = [(where, pool)] if warm else []
        if not warm or not args.skip_fresh:
            modes.append(("fresh sandbox with the GPU" if fresh_gpu else "fresh Python per submission", None))
        print(f"\n3. grading {PROBLEM} ({len(problem.cases)} cases, {len(problem.checks)} checks) per submission")
        medians: dict[str, list[float]] = {}
        for name, chosen in modes:
            for label, seconds in grading(assignment, problem, chosen, args.repeat).items():
                medians.setdefault(label, []).append(statistics.median(seconds))
                print(f"   {name:<32} {label:<36} median {statistics.median(seconds):6.2f} s  "
                      f"(min {min(seconds):.2f}, max {max(seconds):.2f})")
        for label, (warm_s, *fresh_s) in medians.items():
            if fresh_s:
                print(f"   {'fresh / warm (same run)':<32} {label:<36} {fresh_s[0] / warm_s:6.1f}x")
    finally:
        if pool is not None:
            pool.close()


if __name__ == "__main__":
    main()
