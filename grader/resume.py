"""Resuming a batch from the gradebook: what to grade, what to keep, and grading it crash-safely.

A submission is graded again when it is not in the gradebook yet, when its files changed, when the
assignment's specs changed, when problems are selected that it was never graded on, or that hold a result
the machine kept from being graded (``models.NOT_GRADED``, e.g. a calibration of the reference failed; only
those problems are graded), or with ``force``. Everything else is taken from the gradebook as it is.
"""

from __future__ import annotations

import copy
import uuid
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Callable, Protocol, Sequence

from grader.answers.manual import ManualGrades, apply_manual
from grader.fingerprint import submission_hash
from grader.gradebook import Gradebook, Stored
from grader.models import ProblemSpec, SubmissionResult
from grader.submissions import Submission
from grader.timing import Instant

_REASONS = {"new": "not graded yet", "changed": "files changed", "specs": "specs changed",
            "problems": "newly selected problems", "ungraded": "left ungraded by the machine"}


@dataclass(frozen=True)
class Job:
    """One submission to grade now, on ``problems``."""

    submission: Submission
    content_hash: str
    problems: tuple[ProblemSpec, ...]
    keep: bool  #: the stored grades of its other problems are still valid and stay
    reason: str  #: new, changed, specs, problems, ungraded or force


@dataclass
class Plan:
    spec_hash: str
    force: bool = False
    jobs: list[Job] = field(default_factory=list)
    skipped: list[Submission] = field(default_factory=list)  #: already graded and unchanged
    known: int = 0  #: submissions of the batch the gradebook already held

    @property
    def notice(self) -> str | None:
        """The line to show before grading, when this run resumes or regrades an earlier one."""
        total = len(self.jobs) + len(self.skipped)
        if self.force:
            return f"Regrading all {total} submission(s) (--force)."
        if not self.known:
            return None
        reasons = Counter(job.reason for job in self.jobs)
        detail = ", ".join(f"{reasons[key]} {label}" for key, label in _REASONS.items() if reasons[key])
        return (f"Resuming: {len(self.skipped)} of {total} submission(s) already graded and unchanged; "
                f"grading {len(self.jobs)}" + (f" ({detail})" if detail else "") + ".")


def plan_batch(stored: dict[str, Stored], submissions: Sequence[Submission], chosen: Sequence[ProblemSpec],
               spec_hash: str, *, force: bool = False) -> Plan:
    """Decide, for each submission of the batch, whether and on which problems to grade it."""
    plan = Plan(spec_hash, force)
    for sub in submissions:
        content = _content_hash(sub)
        before = stored.get(sub.student)
        plan.known += before is not None
        unchanged = before is not None and before.spec_hash == spec_hash and before.content_hash == content
        if before is None:
            plan.jobs.append(Job(sub, content, tuple(chosen), False, "new"))
        elif force:
            plan.jobs.append(Job(sub, content, tuple(chosen), unchanged, "force"))
        elif not unchanged:
            reason = "specs" if before.spec_hash != spec_hash else "changed"
            plan.jobs.append(Job(sub, content, tuple(chosen), False, reason))
        elif missing := tuple(p for p in chosen if p.id not in before.problems or p.id in before.ungraded):
            reason = "problems" if any(p.id not in before.problems for p in missing) else "ungraded"
            plan.jobs.append(Job(sub, content, missing, True, reason))
        else:
            plan.skipped.append(sub)
    return plan


def _content_hash(sub: Submission) -> str:
    """The submission's hash; one that cannot be hashed (it never should: hashing skips what it cannot read)
    gets a hash of its own that matches nothing stored, so it is graded, and its error shown, every run."""
    try:
        return submission_hash(sub.folder)
    except Exception as exc:  # noqa: BLE001 - one submission never stops a batch
        return f"unhashable {type(exc).__name__} {uuid.uuid4().hex}"


def merge(stored: SubmissionResult | None, fresh: SubmissionResult, order: Sequence[str]) -> SubmissionResult:
    """``fresh`` with the stored problems it did not regrade, in the assignment's ``order``."""
    if stored is None:
        return fresh
    regraded = {p.problem for p in fresh.problems}
    problems = [p for p in stored.problems if p.problem not in regraded] + fresh.problems
    rank = {pid: i for i, pid in enumerate(order)}
    problems.sort(key=lambda p: rank.get(p.problem, len(rank)))
    notes = stored.notes + [n for n in fresh.notes if n not in stored.notes]
    return SubmissionResult(fresh.student, problems, notes)


def with_manual(result: SubmissionResult, grades: ManualGrades) -> SubmissionResult:
    """A copy of a stored (raw) result with the manual grades merged in."""
    shown = copy.deepcopy(result)
    apply_manual(shown, grades)
    return shown


class JobExecutor(Protocol):
    """Runs grading jobs somewhere (threads here, or Ray tasks) and hands back futures."""

    def submit(self, job: Job) -> Future[tuple[SubmissionResult, float]]: ...

    def shutdown(self) -> None: ...


class LocalExecutor:
    """Grading jobs on ``workers`` threads of this process (each drives sandboxed processes)."""

    def __init__(self, grade: Callable[[Job], SubmissionResult], workers: int) -> None:
        self.grade = grade
        self.pool = ThreadPoolExecutor(max_workers=workers)

    def _timed(self, job: Job) -> tuple[SubmissionResult, float]:
        started = Instant.now()
        result = self.grade(job)
        return result, round(started.elapsed(), 3)

    def submit(self, job: Job) -> Future[tuple[SubmissionResult, float]]:
        return self.pool.submit(self._timed, job)

    def shutdown(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


def run_jobs(plan: Plan, gradebook: Gradebook, run_id: int, executor: JobExecutor, *, order: Sequence[str],
             on_saved: Callable[[SubmissionResult], None] | None = None) -> int:
    """Grade the plan's jobs on ``executor``; store each result as soon as it is ready.

    Only this (the calling) thread touches the gradebook: results are saved as futures complete, one
    transaction per submission. On an error or an interrupt, jobs not yet started are cancelled.
    Returns how many submissions were graded.
    """
    done = 0
    try:
        futures: dict[Future[tuple[SubmissionResult, float]], Job] = {executor.submit(job): job
                                                                       for job in plan.jobs}
        for future in as_completed(futures):
            job = futures[future]
            fresh, seconds = future.result()
            stored = gradebook.load([job.submission.student]).get(job.submission.student) if job.keep else None
            result = merge(stored, fresh, order)
            gradebook.save(result, folder=job.submission.folder, content_hash=job.content_hash,
                           spec_hash=plan.spec_hash, run_id=run_id, fresh=[p.id for p in job.problems],
                           seconds=seconds)
            done += 1
            if on_saved:
                on_saved(result)
    finally:
        executor.shutdown()
    return done
