"""Timed training (regularized-ae): the reference's time-to-target, steps per second, grading time per submission.

Prints, for this machine and for its CUDA GPU when it has one:

1. **in-process**: the driver's training loop on the reference setup, run directly in this process on
   each device (``cpu`` and, when torch sees one, ``cuda``): time-to-target, steps to target, steps/s.
   This is the raw speed, without sandbox overhead.
2. **sandboxed**: the kit's calibration of the reference exactly as a grading session measures it (the same
   driver in a fresh sandbox that no submission has touched, on the device the students' sandboxes see,
   timed by the grader's clock), repeated ``--repeat`` times with a new session each time: time-to-target
   (median, min, max), steps, steps/s and the budgets the kit's companion sets from it; and, interleaved
   with it for comparison, the same calibration in a warm worker (where grade runs measured it before: a
   warm worker has run students' code).
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
from grader.calibration import Calibrations, Where, checks_for  # noqa: E402
from grader.grading import ALL, RunOptions, warm_pool_for  # noqa: E402
from grader.kit import CalibrationContext, CalibrationFailed, CompanionContext, ReferenceRun, kit_module  # noqa: E402
from grader.models import Status  # noqa: E402
from grader.reference import CaseBook, load_module  # noqa: E402
from grader import machine  # noqa: E402
from grader.sandbox import gpu, gpu_devices, isolation  # noqa: E402
from grader.sandbox.runner import Call, run_calls  # noqa: E402
from grader.spec import load_assignment  # noqa: E402

ASSIGNMENT = ROOT / "problems" / "autoencoders"
SUBMISSIONS = ASSIGNMENT / "samples"
PROBLEM = "regularized-ae"
DRIVER = "regularized_training"
SAMPLES = {"correct": "regularized-sum-sgd", "wrong (weight_decay=lam)": "regularized-wd-lam"}
KIT = load_assignment(ASSIGNMENT).kit  # the assignment's kit: its driver, calibration and companion
driver = kit_module(KIT, "sandbox.regularized_training")
calibration = kit_module(KIT, "training.calibration")
from_expected = kit_module(KIT, "training.closed_form").from_expected
read_run = kit_module(KIT, "training.curve").read_run


def in_process(problem, book: CaseBook, device: str) -> list[tuple[str, float, int, float]]:
    """The driver's loop on the reference setup in this process: (case, time-to-target, steps, steps/s)."""
    reference = vars(load_module(problem.reference))
    rows = []
    for case in problem.cases:
        params = calibration.timed_params(checks_for(problem, case))
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


def in_warm_worker(problem, case, book: CaseBook, pool, settings: dict) -> ReferenceRun:
    """The reference run through the driver in one of ``pool``'s warm workers (what grading never does: see
    ``grader.calibration.untouched_sandbox``), for comparison only."""
    entry = problem.entry(case.entry)
    inputs = book.inputs(problem, case)
    call = Call(case.id, entry.name, tuple(inputs[a] for a in entry.args) + (settings,), driver=entry.driver)
    result = run_calls(problem.reference.read_text(encoding="utf-8"), "solution.py", [call], problem.limits,
                       mode="auto", secrets=[ASSIGNMENT], pool=pool, modules=problem.kit.sandbox_modules)
    outcome = result.calls[case.id]
    if result.load is not None or outcome.status is not Status.PASSED:
        raise CalibrationFailed(f"the reference failed in the warm worker: {outcome.message}")
    return ReferenceRun(outcome.value, outcome.ticks, outcome.seconds)


def budgets(problem, case, book: CaseBook, measured: dict) -> tuple[float, int]:
    """The time and step budgets the kit's companion sets from a calibration's data."""
    ctx = CompanionContext(problem, case, book.inputs(problem, case), book.expected(problem, case),
                           checks_for(problem, case), measured)
    info = problem.kit.companions[DRIVER](ctx).info
    return info["budget_seconds"], info["step_budget"]


def sandboxed(problem, repeat: int, pool) -> list[tuple]:
    """The kit's calibration as a grading session measures it (a fresh sandbox), ``repeat`` new sessions per
    case, and interleaved with them, where ``pool`` is a warm pool, the same calibration in one of its warm
    workers."""
    rows = []
    where = Where("auto", (ASSIGNMENT,), pool)
    calibrate = problem.kit.calibrations[DRIVER]
    for case in problem.cases:
        refs, warm = [], []
        book = CaseBook()
        for _ in range(repeat):
            data, error = Calibrations().get(problem, case, book, where)  # a new session: measured again
            if error is not None:
                raise SystemExit(f"the reference could not be calibrated: {error}")
            refs.append(data)
            if pool is not None:
                ctx = CalibrationContext(problem, case, book.inputs(problem, case), book.expected(problem, case),
                                         checks_for(problem, case),
                                         lambda settings: in_warm_worker(problem, case, book, pool, settings))
                warm.append(calibrate(ctx))
        for place, timings in (("fresh sandbox", refs), ("warm worker", warm)):
            if not timings:
                continue
            median = sorted(timings, key=lambda r: r["seconds"])[len(timings) // 2]
            budget, steps_budget = budgets(problem, case, book, median)
            rows.append((place, case.id, [r["seconds"] for r in timings], median["steps"],
                         statistics.median(r["steps_per_second"] or 0.0 for r in timings), median["device"], budget,
                         steps_budget))
    return rows


def grading(assignment, problem, pool, repeat: int) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    book = CaseBook()
    options = RunOptions(ALL, "auto", (ASSIGNMENT, SUBMISSIONS), pool)
    grade_submission(SUBMISSIONS / SAMPLES["correct"], assignment, problems=[problem], options=options, book=book)
    for label, student in SAMPLES.items():  # the calibration is measured above, once per session (options)
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
          f"NVIDIA device nodes: {len(gpu_devices.devices())}; sandbox: {isolation.resolve_mode('auto')}")
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

        pool = WarmPool(1, [ASSIGNMENT, SUBMISSIONS], modules=KIT.sandbox_modules)
    try:
        warm = warm_pool_for(problem, pool)  # with a GPU: warm workers that see it, where CUDA works in them
        if pool is not None and warm is not pool:
            print(f"warm workers that see the GPU: {gpu.probe_warm(problem.limits, pool.for_gpu()).describe()}")
        where = ("warm worker" + (" that sees the GPU" if warm.gpu else "")) if warm else \
            ("fresh sandbox with the GPU" if fresh_gpu else "fresh Python")
        fresh_where = "fresh sandbox with the GPU" if fresh_gpu and (warm is None or warm.gpu) else "fresh sandbox"
        print(f"\n2. the reference's calibration as a grading session measures it ({fresh_where}, {args.repeat} runs"
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
