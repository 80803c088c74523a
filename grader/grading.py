"""Grade one submission: run its code on a problem's cases in the sandbox, then judge every check here."""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader.calibration import Calibrations, Where, driver_context
from grader.checks import AnswerError, CaseData, NotGraded, Verdict
from grader.kit import DriverContext, kit_of
from grader.models import (NOT_GRADED, CallOutcome, Case, CheckResult, CheckSpec, ProblemResult, ProblemSpec,
                           Status, Visibility)
from grader.reference import CaseBook
from grader.sandbox import gpu, gpu_devices
from grader.sandbox.isolation import Mode
from grader.sandbox.pool import WarmPool
from grader.sandbox.runner import Call, SandboxResult, run_calls
from grader.submissions import SourceFile
from grader.tracebacks import where as located

ALL = frozenset(Visibility)
PUBLIC = frozenset({Visibility.PUBLIC})
_NB_LINE = re.compile(r'File "solution\.ipynb", line (\d+)')


@dataclass(frozen=True)
class RunOptions:
    visibilities: frozenset[Visibility] = ALL
    sandbox: Mode = "auto"
    secrets: tuple[Path, ...] = ()  #: folders that must never be visible to student code
    pool: WarmPool | None = None  #: warm sandboxes to fork each process from; None starts a fresh Python
    #: the kits' calibrations of the reference, measured once per session (grader/calibration.py)
    calibrations: Calibrations = field(default_factory=Calibrations, compare=False)
    #: the course secret (grader.variants.Secret) per-student cases and questions derive from; None without one
    secret: Any = field(default=None, compare=False, repr=False)


def selected_cases(problem: ProblemSpec, visibilities: frozenset[Visibility]) -> list[Case]:
    used = {c.id for check in problem.checks for c in problem.cases_for(check, visibilities)}
    return [c for c in problem.cases if c.id in used]


@dataclass(frozen=True)
class Workers:
    """Where a problem's processes run: ``pool`` (None: a fresh sandbox each), and why not warm, when not."""

    pool: WarmPool | None
    fresh_because: str = ""  #: set when warm workers were there but the problem runs fresh


def workers_for(problem: ProblemSpec, pool: WarmPool | None) -> Workers:
    """The warm workers that run ``problem``: ``pool`` itself, or for a problem that trains on the GPU of a
    machine with one, its sibling whose sandboxes see the GPU, once CUDA is known to work in its jobs. Where
    CUDA works in a fresh sandbox only, a fresh sandbox per submission (which the reference's timing then
    uses too); where it works in neither, ``pool`` itself: the problem runs on the CPU either way."""
    if pool is None or not (problem.limits.gpu and gpu_devices.devices()):
        return Workers(pool)
    warm = pool.for_gpu()
    found = gpu.probe_warm(problem.limits, warm)
    if found.usable:
        return Workers(warm)
    if not gpu.probe(problem.limits, "bwrap", tuple(pool.secrets)).usable:
        return Workers(pool)
    return Workers(None, found.reason)


def warm_pool_for(problem: ProblemSpec, pool: WarmPool | None) -> WarmPool | None:
    """The warm workers that run ``problem`` (None: a fresh sandbox per submission); see :func:`workers_for`."""
    return workers_for(problem, pool).pool


def _judge(check: CheckSpec, data: CaseData) -> tuple[Status, Verdict]:
    try:
        verdict = data.kit.find_check(check.check).func(data, check.params)
    except AnswerError as exc:
        return exc.status, Verdict(False, str(exc))
    except NotGraded as exc:  # the machine's failure: an error that the next run regrades
        return Status.ERROR, Verdict(False, str(exc), diagnosis=NOT_GRADED, data={"not_graded": exc.detail})
    except Exception as exc:  # noqa: BLE001 - a bug in a (kit's) check costs this check only, and is located
        detail = f"{located(exc)}{type(exc).__name__}: {exc}"
        print(f"grader: the check {check.check!r} ({check.name}) failed on case {data.case.id}: {detail}",
              file=sys.stderr)
        return Status.ERROR, Verdict(False, f"internal grader error: the check {check.name} could not judge this "
                                            f"case ({type(exc).__name__}); not your code's fault: ask the course "
                                            "staff to regrade", diagnosis="grader_error", data={"grader_error": detail})
    return (Status.PASSED if verdict.passed else Status.FAILED), verdict


def _with_cells(message: str, source: SourceFile) -> str:
    if source.notebook is None:
        return message
    nb = source.notebook
    return _NB_LINE.sub(lambda m: f'File "solution.ipynb", {nb.where(int(m.group(1)))}', message)


def grade_problem(problem: ProblemSpec, source: SourceFile | str, book: CaseBook,
                  options: RunOptions | None = None) -> ProblemResult:
    """Every check of ``problem`` on every selected case. ``source`` is the code, or why there is none.
    Without ``options``: all cases, isolation ``auto``, fresh sandboxes, calibrations of its own."""
    options = options if options is not None else RunOptions()
    result = ProblemResult(problem.id, problem.title)
    cases = selected_cases(problem, options.visibilities)
    contexts: dict[str, dict] = {}  #: a driven case's context for its checks (grader/calibration.py)
    if not cases:
        outcomes = {}
    elif isinstance(source, str):
        outcomes = {c.id: CallOutcome(Status.ERROR, message=source) for c in cases}
    else:
        pool = warm_pool_for(problem, options.pool)
        where = Where(options.sandbox, options.secrets, pool)
        driven = {c.id: driver_context(problem, c, book, where, options.calibrations)
                  for c in cases if problem.entry(c.entry).driver}
        contexts = {k: d.info for k, d in driven.items() if d is not None}
        calls = [_call(problem, c, book, driven.get(c.id)) for c in cases]
        run: SandboxResult = run_calls(source.text, source.filename, calls, problem.limits,
                                       mode=options.sandbox, secrets=list(options.secrets), pool=pool,
                                       modules=kit_of(problem).sandbox_modules)
        outcomes = {k: CallOutcome(o.status, o.value, _with_cells(o.message, source), o.seconds, o.ticks)
                    for k, o in run.calls.items()}
        result.stdout, result.stderr = run.stdout, _with_cells(run.stderr, source)
        result.notes.extend(run.notes)
        if run.load is not None:
            result.notes.append(f"your code could not be loaded: {_with_cells(run.load.message, source)}")
    for check in problem.checks:
        targets = problem.cases_for(check, options.visibilities)
        share = check.points / len(targets) if targets else 0.0
        results = [_check_one(problem, check, case, outcomes[case.id], book, share, contexts.get(case.id))
                   for case in targets]
        hook = kit_of(problem).hook(check.check)
        if hook is not None:
            try:
                hook(check.params, results, [outcomes[c.id].value for c in targets
                                             if outcomes[c.id].status is Status.PASSED])
            except Exception as exc:  # noqa: BLE001 - the per-case verdicts stand; the author is told where
                print(f"grader: the across-cases hook of {check.check!r} ({check.name}) failed: {located(exc)}"
                      f"{type(exc).__name__}: {exc}; its results stand as judged case by case", file=sys.stderr)
        result.checks.extend(results)
    return result


def _call(problem: ProblemSpec, case: Case, book: CaseBook, context: DriverContext | None) -> Call:
    """The call for one case; a driven entry's call goes to its driver, with the context's settings last."""
    entry = problem.entry(case.entry)
    args = tuple(book.inputs(problem, case)[a] for a in entry.args)
    if context is not None:
        args += (context.settings,)
    return Call(case.id, case.entry, args, driver=entry.driver)


def _check_one(problem: ProblemSpec, check: CheckSpec, case: Case, outcome: CallOutcome, book: CaseBook,
               points: float, context: dict | None = None) -> CheckResult:
    def made(status: Status, score: float, feedback: str, diagnosis: str | None = None,
             data: dict | None = None) -> CheckResult:
        return CheckResult(problem.id, check.name, case.id, case.visibility, status, score,
                           points, feedback, diagnosis, data=data)

    if outcome.status is not Status.PASSED:
        return made(outcome.status, 0.0, outcome.message)
    data = CaseData(case, problem.entry(case.entry), book.inputs(problem, case),
                    book.expected(problem, case), outcome.value, outcome.ticks, context, kit_of(problem))
    status, verdict = _judge(check, data)
    if status is Status.PASSED:
        return made(status, points, verdict.feedback, data=verdict.data)
    fraction = min(max(verdict.fraction or 0.0, 0.0), 1.0)
    return made(status, points * fraction, verdict.feedback, verdict.diagnosis, verdict.data)
