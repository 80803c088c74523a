"""Fair budgets across machines: the reference setup's time-to-target, measured on this machine.

Each timed case has two budgets:

- **steps**: ``step_multiple`` times the steps that Eq. 6's own gradient needs under the grader's
  procedure from the grader's initial weights (simulated here in float64, the same on every machine and
  in a student release). A setup with the right objective but a much smaller effective learning rate
  fails everywhere, not only on slow machines. It is known before the call, so the driver stops there.
- **time**: ``max(floor_seconds, multiple * reference time-to-target)``, at most what the call limit
  leaves. The reference solution's setup (the instructor's ``build_model``, ``build_loss``,
  ``build_optimizer``) is trained by the same driver, on the same device, and timed by the grader's clock,
  once per run (per :class:`~grader.reference.CaseBook`) and only when a submission's training is judged:
  a run that never trains costs no calibration. Until it is measured, the driver's own stop is the call's
  cap; the verdict always uses the measured budget.

The reference is timed in a fresh sandbox that no submission has touched (:func:`untouched_sandbox`), never
in a warm worker: a warm worker's sandbox has run students' code, and what a student could leave there must
not decide every student's budget. Time-to-target is measured from the driver's progress ticks, after the
fresh Python has imported torch, so the fresh start does not count against the budgets. When the reference
cannot be timed (it fails in the sandbox, or misses the target), that is the machine's failure in this run:
it is cached like a timing (tried once per case and run) and raised again as :class:`TimingUnavailable`, and
the timed checks that needed it are not graded (see ``grader/checks/training.py``); everything else is.

A student release has no reference to time: its time budget is ``without_reference_seconds``.
"""

from __future__ import annotations

import math
import threading
import weakref
from dataclasses import dataclass, replace
from typing import Any

from grader.driven import DriverContext, Sandbox, register_companion
from grader.models import Case, CheckSpec, Limits, ProblemSpec, Status
from grader.reference import CaseBook, ReferenceFailure
from grader.training.closed_form import from_expected, gradient_descent_steps
from grader.training.curve import ProtocolError, read_run

DRIVER = "regularized_training"
CHECK = "timed_training"
SETUP_SECONDS = 20.0  #: what a call needs besides training (building, probes, moving to the device)
REASON_CHARS = 600  #: the most of a failed timing's reason kept (it may quote what the sandbox printed)


class TimingUnavailable(Exception):
    """The reference could not be timed on this machine in this run; the message says why (for the staff)."""


@dataclass(frozen=True)
class ReferenceTiming:
    seconds: float  #: time-to-target, by the grader's clock
    steps: int  #: steps-to-target
    device: str
    steps_per_second: float | None
    call_seconds: float  #: the whole call (building, probes, training)


#: per run (CaseBook) and (problem, case): the timing, or why there is none
_cache: "weakref.WeakKeyDictionary[CaseBook, dict[tuple[str, str], ReferenceTiming | TimingUnavailable]]" = \
    weakref.WeakKeyDictionary()
_guard = threading.Lock()
_locks: dict[tuple[int, str, str], threading.Lock] = {}


def training_check(problem: ProblemSpec, case: Case) -> CheckSpec | None:
    """The timed-training check that grades ``case`` (its parameters set the tolerance and the budgets)."""
    for check in problem.checks:
        if check.check == CHECK and (check.cases is None or case.group in check.cases) \
                and check.entry in (None, case.entry):
            return check
    return None


def driver_settings(params: Any, *, budget_seconds: float, max_steps: int, seed: int) -> dict[str, Any]:
    return {"budget_seconds": float(budget_seconds), "max_steps": int(max_steps), "target_tol": float(params.tol),
            "snapshot_every": int(params.snapshot_every), "stall_rtol": float(params.stall_rtol),
            "stall_patience": int(params.stall_patience), "seed": int(seed), "device": params.device, "threads": 1}


def untouched_sandbox(problem: ProblemSpec, sandbox: Sandbox) -> tuple[Limits, dict[str, Any]]:
    """Where the reference is timed: the limits and ``run_calls`` arguments of a fresh sandbox (a new Python,
    isolated as the run's mode says, hiding the run's secrets), never a warm worker of ``sandbox.pool``.
    It sees the GPU exactly when the students' processes do: a problem with ``limits.gpu`` whose students run
    in the ordinary warm workers (CUDA works in no sandbox here, see ``grading.workers_for``) trains on the CPU
    there, and so does its reference; where they run in warm workers that see the GPU, or in fresh sandboxes,
    the reference's fresh sandbox has the problem's own limits and sees the GPU too."""
    limits = problem.limits
    if limits.gpu and sandbox.pool is not None and not getattr(sandbox.pool, "gpu", False):
        limits = replace(limits, gpu=False)
    return limits, {"mode": sandbox.mode, "secrets": list(sandbox.secrets), "pool": None}


def reference_timing(problem: ProblemSpec, case: Case, book: CaseBook, sandbox: Sandbox, params: Any) -> ReferenceTiming:
    """The reference's time-to-target for ``case`` on this machine: measured once per run, in a sandbox no
    submission has touched, then cached. A failure is cached too, and raised as :class:`TimingUnavailable`."""
    key = (problem.id, case.id)
    with _guard:
        lock = _locks.setdefault((id(book), *key), threading.Lock())
    with lock:
        cached = _cache.get(book, {}).get(key)
        if cached is None:
            limits, where = untouched_sandbox(problem, sandbox)
            try:
                cached = measure(problem, case, book, params, limits, **where)
            except Exception as exc:  # noqa: BLE001 - the machine's failure in this run, graded as such
                reason = str(exc) if isinstance(exc, ReferenceFailure) else \
                    f"timing it on case {case.id} failed: {type(exc).__name__}: {exc}"
                cached = TimingUnavailable(_one_line(reason, REASON_CHARS))
            with _guard:
                _cache.setdefault(book, {})[key] = cached
    if isinstance(cached, TimingUnavailable):
        raise TimingUnavailable(str(cached))
    return cached


def _one_line(text: str, limit: int) -> str:
    """``text`` on one line of printable characters, at most ``limit`` of them (it may come from the sandbox)."""
    text = "".join(ch if ch.isprintable() else " " for ch in " ".join(text.split()))
    return text if len(text) <= limit else text[:limit - 3] + "..."


def measure(problem: ProblemSpec, case: Case, book: CaseBook, params: Any, limits: Limits,
            **where: Any) -> ReferenceTiming:
    """One timing run of the reference setup on ``case``, in the sandbox ``where`` names (``run_calls``'s
    ``mode``, ``secrets`` and ``pool``); grading uses :func:`reference_timing` (cached, in a fresh sandbox)."""
    from grader.sandbox.runner import Call, run_calls  # the runner imports nothing of the training package

    entry = problem.entry(case.entry)
    inputs = book.inputs(problem, case)
    expected = book.expected(problem, case)
    cap = max(problem.limits.call_seconds - SETUP_SECONDS, 1.0)
    settings = driver_settings(params, budget_seconds=cap, max_steps=params.max_steps, seed=case.seed)
    source = problem.reference.read_text(encoding="utf-8")
    call = Call(case.id, entry.name, tuple(inputs[a] for a in entry.args) + (settings,), driver=entry.driver)
    result = run_calls(source, "solution.py", [call], limits, **where)
    name = f"on case {case.id}, {problem.reference.name}"
    if result.load is not None:
        raise ReferenceFailure(f"{name} could not be loaded in the sandbox: {result.load.message}")
    outcome = result.calls[case.id]
    if outcome.status is not Status.PASSED or not isinstance(outcome.value, dict):
        raise ReferenceFailure(f"{name} failed in the sandbox ({outcome.status.value}): {outcome.message}")
    training = outcome.value.get("training") or {}
    if "error" in training:
        raise ReferenceFailure(f"{name}: training failed: {training['error']}")
    cf = from_expected(expected[entry.returns[0]])
    try:
        run = read_run(training, outcome.ticks, inputs["X"], cf, params.tol, (inputs["W1_init"], inputs["W2_init"]))
    except ProtocolError as exc:
        raise ReferenceFailure(f"{name}: {exc}") from exc
    if run.reached is None:
        last = run.distances[-1].value if run.distances else float("nan")
        raise ReferenceFailure(f"{name} did not reach the closed form within tolerance {params.tol:g} "
                               f"(stopped: {run.stopped} after {run.steps[-1] if run.steps else 0} steps, "
                               f"distance {last:.3g}); fix the reference or the training settings")
    return ReferenceTiming(float(run.time_to_target), int(run.steps_to_target), str(outcome.value.get("device", "")),
                           run.steps_per_second, outcome.seconds)


class Timing:
    """The reference's timing and the time budget for one case, measured on first use (then cached)."""

    def __init__(self, problem: ProblemSpec, case: Case, book: CaseBook, sandbox: Sandbox, params: Any) -> None:
        self.problem, self.case, self.book, self.sandbox, self.params = problem, case, book, sandbox, params

    @property
    def cap(self) -> float:
        return max(self.problem.limits.call_seconds - SETUP_SECONDS, 1.0)

    def cached(self) -> ReferenceTiming | None:
        """The timing when it has been measured in this run (None before, or when it failed)."""
        found = _cache.get(self.book, {}).get((self.problem.id, self.case.id))
        return found if isinstance(found, ReferenceTiming) else None

    def reference(self) -> ReferenceTiming | None:
        """The reference's timing (None in a student release); :class:`TimingUnavailable` when it cannot be
        timed on this machine."""
        if self.problem.reference is None:  # a student release: nothing to time here
            return None
        return reference_timing(self.problem, self.case, self.book, self.sandbox, self.params)

    def budget(self, ref: ReferenceTiming | None) -> tuple[float, bool]:
        """The time budget and whether the call limit capped it."""
        if ref is None:
            return min(self.params.without_reference_seconds, self.cap), \
                self.params.without_reference_seconds > self.cap
        wanted = max(self.params.floor_seconds, self.params.multiple * ref.seconds)
        return min(wanted, self.cap), wanted > self.cap


def step_budget(problem: ProblemSpec, case: Case, book: CaseBook, params: Any) -> tuple[int, int]:
    """The step budget, and the steps Eq. 6's own gradient needs under the grader's procedure."""
    entry = problem.entry(case.entry)
    inputs = book.inputs(problem, case)
    cf = from_expected(book.expected(problem, case)[entry.returns[0]])
    steps = gradient_descent_steps(inputs["X"], cf, float(inputs["lr"]), inputs["W1_init"], inputs["W2_init"],
                                   tol=params.tol, snapshot_every=params.snapshot_every, max_steps=params.max_steps)
    if steps is None:
        raise ReferenceFailure(f"{problem.id}: on case {case.id}, the grader's training procedure (lr "
                               f"{inputs['lr']:g}) does not reach the closed form within {params.max_steps} steps "
                               "even with Eq. 6's own gradient; change the case's lr, spectrum or max_steps")
    every = params.snapshot_every
    budget = int(math.ceil(params.step_multiple * max(steps, every) / every) * every)
    return min(budget, params.max_steps), steps


@register_companion(DRIVER)
def companion(problem: ProblemSpec, case: Case, book: CaseBook, sandbox: Sandbox) -> DriverContext:
    """The driver's settings (step budget, tolerance, a time cap) and, for the checks, the lazy timing."""
    check = training_check(problem, case)
    if check is None:  # no timed check on this case: train with the default caps
        from grader.checks.training import TimedTrainingParams

        params = TimedTrainingParams()
    else:
        params = check.params
    steps, dynamics = step_budget(problem, case, book, params)
    timing = Timing(problem, case, book, sandbox, params)
    cached = timing.cached()
    seconds = timing.budget(cached)[0] if cached is not None or problem.reference is None else timing.cap
    settings = driver_settings(params, budget_seconds=seconds, max_steps=steps, seed=case.seed)
    info = {"timing": timing, "step_budget": steps, "dynamics_steps": dynamics, "floor_seconds": params.floor_seconds,
            "multiple": params.multiple, "step_multiple": params.step_multiple}
    return DriverContext(settings, info)
