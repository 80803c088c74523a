"""Resuming a batch from the gradebook: what to grade, what to keep, and grading it crash-safely.

A submission is graded again when it is not in the gradebook yet or its files changed (on every selected
problem), on the selected problems whose fingerprint changed (their spec, reference, kit code or checks:
:mod:`grader.problem_hash`), that it was never graded on, or that hold a result the machine kept from being
graded (``models.NOT_GRADED``, e.g. a calibration of the reference failed), or with ``force``. Every other stored
grade is kept as it is. Every stored score a run changes (or drops, when a submission's files changed and the
run did not select all its problems) is a :class:`ScoreChange`, written to ``regrade-diff.csv``.
"""

from __future__ import annotations

import copy
import math
import uuid
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Callable, Protocol, Sequence

from grader.answers.manual import ManualGrades, apply_manual
from grader.fingerprint import submission_hash
from grader.gradebook import Gradebook, Stored
from grader.models import ProblemSpec, SubmissionResult
from grader.problem_hash import ProblemFingerprint
from grader.submissions import Submission
from grader.timing import Instant

_REASONS = {"new": "not graded yet", "changed": "with changed files", "specs": "on a changed problem",
            "problems": "on newly selected problems", "ungraded": "left ungraded by the machine"}
#: why one problem of a job is graded, in words (regrade-diff.csv's reason column)
_WHY = {"new": "not graded yet", "changed": "files changed", "problems": "newly selected",
        "ungraded": "left ungraded by the machine", "force": "--force"}


@dataclass(frozen=True)
class Job:
    """One submission to grade now, on ``problems``."""

    submission: Submission
    content_hash: str
    problems: tuple[ProblemSpec, ...]
    keep: bool  #: the stored grades of its other problems are still valid and stay
    reason: str  #: new, changed, specs, problems, ungraded or force
    #: why each problem is graded, in words ("problem-1.yaml changed", "files changed", ...)
    why: dict[str, str] = field(default_factory=dict)


@dataclass
class Plan:
    spec_hash: str  #: the whole assignment's hash (recorded with the run and the submissions)
    fingerprints: dict[str, ProblemFingerprint] = field(default_factory=dict)  #: the chosen problems', by id
    force: bool = False
    jobs: list[Job] = field(default_factory=list)
    skipped: list[Submission] = field(default_factory=list)  #: already graded and unchanged
    known: int = 0  #: submissions of the batch the gradebook already held
    #: problem -> (what changed in what decides its grade, how many submissions it regrades)
    regrading: dict[str, tuple[str, int]] = field(default_factory=dict)

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
        lines = [f"Resuming: {len(self.skipped)} of {total} submission(s) already graded and unchanged; "
                 f"grading {len(self.jobs)}" + (f" ({detail})" if detail else "") + "."]
        lines += [f"Regrading {problem} for {count} submission(s): {what}; every other stored grade is kept."
                  for problem, (what, count) in self.regrading.items()]
        return "\n".join(lines)


def plan_batch(stored: dict[str, Stored], submissions: Sequence[Submission], chosen: Sequence[ProblemSpec],
               spec_hash: str, *, fingerprints: dict[str, ProblemFingerprint] | None = None, force: bool = False,
               known_parts: dict[str, dict[str, str]] | None = None,
               describe: Callable[[str, list[str]], str] | None = None) -> Plan:
    """Decide, for each submission of the batch, whether and on which problems to grade it.

    ``fingerprints``: the chosen problems' current fingerprints (a problem without one is regraded whenever the
    assignment's ``spec_hash`` changed, as a whole); ``known_parts``: the parts of stored fingerprints, by digest,
    so the plan can say what changed; ``describe(problem, changed parts)`` words that."""
    fingerprints = fingerprints or {}
    known_parts = known_parts or {}
    plan = Plan(spec_hash, dict(fingerprints), force)
    changes: dict[str, list[str]] = {}
    counts: Counter[str] = Counter()
    for sub in submissions:
        content = _content_hash(sub)
        before = stored.get(sub.student)
        plan.known += before is not None
        if before is None:
            plan.jobs.append(Job(sub, content, tuple(chosen), False, "new", {p.id: _WHY["new"] for p in chosen}))
            continue
        same_files = before.content_hash == content
        if force:
            plan.jobs.append(Job(sub, content, tuple(chosen), same_files, "force", {p.id: _WHY["force"] for p in chosen}))
            continue
        if not same_files:
            plan.jobs.append(Job(sub, content, tuple(chosen), False, "changed",
                                 {p.id: _WHY["changed"] for p in chosen}))
            continue
        why: dict[str, str] = {}
        for p in chosen:
            if p.id not in before.problems:
                why[p.id] = _WHY["problems"]
            elif p.id in before.ungraded:
                why[p.id] = _WHY["ungraded"]
            elif (stale := _stale(p.id, before, fingerprints, spec_hash, known_parts)) is not None:
                changes.setdefault(p.id, stale)
                why[p.id] = (describe or _parts)(p.id, stale)
                counts[p.id] += 1
        if not why:
            plan.skipped.append(sub)
            continue
        kinds = set(why.values())
        reason = ("problems" if _WHY["problems"] in kinds else "ungraded" if kinds == {_WHY["ungraded"]}
                  else "specs")
        plan.jobs.append(Job(sub, content, tuple(p for p in chosen if p.id in why), True, reason, why))
    plan.regrading = {pid: ((describe or _parts)(pid, changes[pid]), counts[pid]) for pid in counts}
    return plan


def _stale(problem: str, before: Stored, fingerprints: dict[str, ProblemFingerprint], spec_hash: str,
           known_parts: dict[str, dict[str, str]]) -> list[str] | None:
    """What changed in what decides ``problem``'s stored grade (a list of parts, maybe empty when unknown), or None
    when the stored grade is current."""
    current = fingerprints.get(problem)
    if current is None:  # no fingerprint to go by: the whole assignment's hash decides
        return None if before.spec_hash == spec_hash else []
    digest = before.fingerprints.get(problem)
    if digest == current.digest:
        return None
    return current.changed(known_parts.get(digest)) if digest is not None else []


def _parts(problem: str, parts: list[str]) -> str:
    if not parts:
        return "what decides its grade changed (its fingerprint was not stored)"
    return ", ".join(parts) + " changed"


def _content_hash(sub: Submission) -> str:
    """The submission's hash; one that cannot be hashed (it never should: hashing skips what it cannot read)
    gets a hash of its own that matches nothing stored, so it is graded, and its error shown, every run."""
    try:
        return submission_hash(sub.folder)
    except Exception as exc:  # noqa: BLE001 - one submission never stops a batch
        return f"unhashable {type(exc).__name__} {uuid.uuid4().hex}"


@dataclass(frozen=True)
class ScoreChange:
    """A stored score that a run changed, or dropped (``new`` None)."""

    student: str
    problem: str
    old: float
    new: float | None
    reason: str


def score_changes(before: SubmissionResult | None, after: SubmissionResult, why: dict[str, str]) -> list[ScoreChange]:
    """Every problem whose stored score ``after`` changes or drops, in ``before``'s order."""
    if before is None:
        return []
    now = {p.problem: p for p in after.problems}
    out = []
    for p in before.problems:
        new = now.get(p.problem)
        if new is None:
            out.append(ScoreChange(after.student, p.problem, p.score, None,
                                   "files changed; not regraded because this run did not select it"))
        elif not math.isclose(new.score, p.score, rel_tol=1e-9, abs_tol=1e-9):
            out.append(ScoreChange(after.student, p.problem, p.score, new.score, why.get(p.problem, "regraded")))
    return out


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
             on_saved: Callable[[SubmissionResult], None] | None = None,
             changes: list[ScoreChange] | None = None) -> int:
    """Grade the plan's jobs on ``executor``; store each result as soon as it is ready.

    Only this (the calling) thread touches the gradebook: results are saved as futures complete, one
    transaction per submission. On an error or an interrupt, jobs not yet started are cancelled. Every stored
    score a saved result changes or drops is appended to ``changes``. Returns how many submissions were graded.
    """
    done = 0
    try:
        futures: dict[Future[tuple[SubmissionResult, float]], Job] = {executor.submit(job): job
                                                                       for job in plan.jobs}
        for future in as_completed(futures):
            job = futures[future]
            fresh, seconds = future.result()
            stored = gradebook.load([job.submission.student]).get(job.submission.student)
            result = merge(stored if job.keep else None, fresh, order)
            gradebook.save(result, folder=job.submission.folder, content_hash=job.content_hash,
                           spec_hash=plan.spec_hash, run_id=run_id, fresh=[p.id for p in job.problems],
                           seconds=seconds, fingerprints=plan.fingerprints)
            if changes is not None:
                changes.extend(score_changes(stored, result, job.why))
            done += 1
            if on_saved:
                on_saved(result)
    finally:
        executor.shutdown()
    return done
