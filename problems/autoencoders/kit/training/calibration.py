"""Fair budgets across machines: the reference setup's time-to-target, measured on this machine.

Each timed case has two budgets:

- **steps**: ``step_multiple`` times the steps that Eq. 6's own gradient needs under the grader's
  procedure from the grader's initial weights (simulated here in float64, the same on every machine and
  in a student release). A setup with the right objective but a much smaller effective learning rate
  fails everywhere, not only on slow machines. It is known before the call, so the driver stops there.
- **time**: ``max(floor_seconds, multiple * reference time-to-target)``, at most what the call limit
  leaves. The reference solution's setup (the instructor's ``build_model``, ``build_loss``,
  ``build_optimizer``) is trained by the same driver, on the same device, and timed by the grader's clock:
  this module's calibration, which the engine runs once per case and grading session, before the first
  submission's call (``grader/session.py``), and hands to the companion as data.

The engine runs the reference in a fresh sandbox that no submission has touched, never in a warm worker: a
warm worker's sandbox has run students' code, and what a student could leave there must not decide every
student's budget. Time-to-target is measured from the driver's progress ticks, after the fresh Python has
imported torch, so the fresh start does not count against the budgets. When the reference cannot be timed
(it fails in the sandbox, or misses the target), that is the machine's failure in this session: the engine
keeps the reason, the driver trains within the call's cap, and the timed check of a run that trained is not
graded (``training/checks.py`` raises NotGraded); everything else is.

A student release has no reference to time: its time budget is ``without_reference_seconds``.
"""

from __future__ import annotations

import math
from typing import Any

from grader.kit import (CalibrationContext, CalibrationFailed, CompanionContext, DriverContext, ReferenceFailure)

from .. import kit
from .closed_form import from_expected, gradient_descent_steps
from .curve import ProtocolError, read_run

DRIVER = "regularized_training"
CHECK = "timed_training"
SETUP_SECONDS = 20.0  #: what a call needs besides training (building, probes, moving to the device)


def timed_params(checks) -> Any:
    """The timed-training check's parameters for a case (they set the tolerance and the budgets); the defaults
    where no timed check grades it."""
    from .checks import TimedTrainingParams

    for check in checks:
        if check.check == CHECK:
            return check.params
    return TimedTrainingParams()


def driver_settings(params: Any, *, budget_seconds: float, max_steps: int, seed: int) -> dict[str, Any]:
    return {"budget_seconds": float(budget_seconds), "max_steps": int(max_steps), "target_tol": float(params.tol),
            "snapshot_every": int(params.snapshot_every), "stall_rtol": float(params.stall_rtol),
            "stall_patience": int(params.stall_patience), "seed": int(seed), "device": params.device, "threads": 1}


def call_cap(problem) -> float:
    """The most training time a call can hold, besides building, probing and moving to the device."""
    return max(problem.limits.call_seconds - SETUP_SECONDS, 1.0)


@kit.calibration(DRIVER)
def calibrate(ctx: CalibrationContext) -> dict[str, Any]:
    """The reference setup's time-to-target and steps on this case, on this machine (plain data)."""
    params = timed_params(ctx.checks)
    entry = ctx.problem.entry(ctx.case.entry)
    settings = driver_settings(params, budget_seconds=call_cap(ctx.problem), max_steps=params.max_steps,
                               seed=ctx.case.seed)
    run = ctx.run_reference(settings)
    name = f"on case {ctx.case.id}, {ctx.problem.reference.name}"
    if not isinstance(run.value, dict):
        raise CalibrationFailed(f"{name}: the driver returned no measurements")
    training = run.value.get("training") or {}
    if "error" in training:
        raise CalibrationFailed(f"{name}: training failed: {training['error']}")
    cf = from_expected(ctx.expected[entry.returns[0]])
    inputs = ctx.inputs
    try:
        measured = read_run(training, run.ticks, inputs["X"], cf, params.tol, (inputs["W1_init"], inputs["W2_init"]))
    except ProtocolError as exc:
        raise CalibrationFailed(f"{name}: {exc}") from exc
    if measured.reached is None:
        last = measured.distances[-1].value if measured.distances else float("nan")
        raise CalibrationFailed(f"{name} did not reach the closed form within tolerance {params.tol:g} "
                                f"(stopped: {measured.stopped} after {measured.steps[-1] if measured.steps else 0} "
                                f"steps, distance {last:.3g}); fix the reference or the training settings")
    return {"seconds": float(measured.time_to_target), "steps": int(measured.steps_to_target),
            "device": str(run.value.get("device", "")), "steps_per_second": measured.steps_per_second}


def step_budget(ctx: CompanionContext, params: Any) -> tuple[int, int]:
    """The step budget, and the steps Eq. 6's own gradient needs under the grader's procedure."""
    problem, case, inputs = ctx.problem, ctx.case, ctx.inputs
    entry = problem.entry(case.entry)
    cf = from_expected(ctx.expected[entry.returns[0]])
    steps = gradient_descent_steps(inputs["X"], cf, float(inputs["lr"]), inputs["W1_init"], inputs["W2_init"],
                                   tol=params.tol, snapshot_every=params.snapshot_every, max_steps=params.max_steps)
    if steps is None:
        raise ReferenceFailure(f"{problem.id}: on case {case.id}, the grader's training procedure (lr "
                               f"{inputs['lr']:g}) does not reach the closed form within {params.max_steps} steps "
                               "even with Eq. 6's own gradient; change the case's lr, spectrum or max_steps")
    every = params.snapshot_every
    budget = int(math.ceil(params.step_multiple * max(steps, every) / every) * every)
    return min(budget, params.max_steps), steps


def time_budget(ctx: CompanionContext, params: Any) -> tuple[float, bool]:
    """The time budget and whether the call limit capped it: from the reference's timing; in a student release
    ``without_reference_seconds``; where the reference could not be timed, the call's cap."""
    cap = call_cap(ctx.problem)
    if ctx.problem.reference is None:
        return min(params.without_reference_seconds, cap), params.without_reference_seconds > cap
    if ctx.calibration is None:
        return cap, False
    wanted = max(params.floor_seconds, params.multiple * float(ctx.calibration["seconds"]))
    return min(wanted, cap), wanted > cap


@kit.companion(DRIVER)
def companion(ctx: CompanionContext) -> DriverContext:
    """The driver's settings (step and time budgets, tolerance) and, for the checks, the budgets and the
    reference's timing (or why there is none)."""
    params = timed_params(ctx.checks)
    steps, dynamics = step_budget(ctx, params)
    budget, capped = time_budget(ctx, params)
    settings = driver_settings(params, budget_seconds=budget, max_steps=steps, seed=ctx.case.seed)
    info = {"step_budget": steps, "dynamics_steps": dynamics, "floor_seconds": params.floor_seconds,
            "multiple": params.multiple, "step_multiple": params.step_multiple, "budget_seconds": budget,
            "capped": capped, "reference": ctx.calibration, "untimed": ctx.calibration_error}
    return DriverContext(settings, info)
