"""The late policy of one ``grade`` run: its inputs read and checked before anything is graded, each student's
outcome, and the record of what was applied (``OUT/submission-times.csv``).

A student's time comes from the first of: the times file of this run (``--times``, else ``OUT/times.csv``), a
time an earlier run of this output folder recorded, the Canvas download's LATE mark of this run, a mark recorded
earlier. Extensions come from ``--extensions`` (else ``OUT/extensions.csv``); slip days left from ``--course``.

The outcomes are worked out before anything is graded, as if every submission scored points; each output settles a
student's with their raw score (:meth:`grader.policy.rules.LateOutcome.scored`: a submission that scores 0 spends
no slip days).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Iterable

from grader.policy.course import load_course, slip_days_left
from grader.policy.errors import PolicyError
from grader.policy.extensions import EXTENSIONS_CSV, Extension, read_extensions
from grader.policy.records import RECORDS, Record, read_records, write_records
from grader.policy.rules import UNKNOWN, LatePolicy, LateOutcome, assess
from grader.policy.times import TIMES_CSV, SubmissionTime, canvas_times, elapsed, read_times, shown_time


@dataclass
class LateBatch:
    """Each student's outcome under the assignment's policy (none without one), and what to record."""

    policy: LatePolicy | None
    outcomes: dict[str, LateOutcome] = field(default_factory=dict)
    records: list[Record] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def applies(self) -> bool:
        return self.policy is not None

    def write(self, out_dir: Path) -> Path | None:
        """``OUT/submission-times.csv``, when there is a policy."""
        return write_records(self.records, Path(out_dir) / RECORDS) if self.policy is not None else None


def _shown(names: list[str], most: int = 5) -> str:
    return ", ".join(names[:most]) + (f" and {len(names) - most} more" if len(names) > most else "")


def prepare(policy: LatePolicy | None, students: Iterable[str], out_dir: Path, *, assignment_root: Path,
            times: Path | None = None, extensions: Path | None = None, course: Path | None = None,
            canvas: dict[str, bool] | None = None, canvas_where: str = "Canvas download") -> LateBatch:
    """Read and check this run's late-policy inputs and work out every student's outcome. Bad input is a
    :class:`PolicyError` (before anything is graded); what is only doubtful is a warning."""
    students = sorted(set(students))
    out_dir = Path(out_dir)
    if policy is None:
        given = [f"{flag} {path}" for flag, path in (("--times", times), ("--extensions", extensions),
                                                       ("--course", course)) if path is not None]
        warnings = [f"{', '.join(given)}: the assignment's assignment.yaml has no late: policy, so no late penalty "
                    "applies (add one: see the README's \"Deadlines, late policy and slip days\")"] if given else []
        return LateBatch(None, warnings=warnings)
    batch = LateBatch(policy)
    zone = policy.input_zone
    fresh: dict[str, SubmissionTime] = {}
    times = times if times is not None else (out_dir / TIMES_CSV if (out_dir / TIMES_CSV).is_file() else None)
    if times is not None:
        fresh, more = read_times(times, students, zone)
        batch.warnings += more
    stored: dict[str, Record] = {}
    if (out_dir / RECORDS).is_file():
        try:
            stored = read_records(out_dir / RECORDS)
        except PolicyError as exc:
            batch.warnings.append(f"{exc}; the times recorded by earlier runs are not used")
    marks = canvas_times(canvas or {}, canvas_where)
    chosen: dict[str, SubmissionTime | None] = {}
    for s in students:
        before = stored[s].time if s in stored else None
        ranked = [fresh.get(s), before if before is not None and before.at is not None else None, marks.get(s),
                  before]
        chosen[s] = next((t for t in ranked if t is not None), None)
    if times is not None:  # a time this run's file does not give, though an earlier run's is still applied
        kept = sorted(s for s in students if s not in fresh and chosen[s] is not None and chosen[s].at is not None
                      and chosen[s] is (stored[s].time if s in stored else None))
        if kept:
            said = ", ".join(f"{s} from {chosen[s].where}" for s in kept[:5]) + (
                f" and {len(kept) - 5} more" if len(kept) > 5 else "")
            batch.warnings.append(
                f"{times} gives no time for {len(kept)} student(s) whose time an earlier run of {out_dir} recorded "
                f"({said}): that time is still applied; to drop it, remove the student's row from "
                f"{out_dir / RECORDS}")
    found: dict[str, Extension] = {}
    extensions = extensions if extensions is not None else (
        out_dir / EXTENSIONS_CSV if (out_dir / EXTENSIONS_CSV).is_file() else None)
    if extensions is not None:
        found, more = read_extensions(extensions, students, zone)
        batch.warnings += more
    for s, extension in sorted(found.items()):
        if extension.due is not None and elapsed(extension.due, policy.due) < timedelta(0):
            own, theirs = shown_time(extension.due, policy.tz), shown_time(policy.due, policy.tz)
            batch.warnings.append(f"{extension.where}: {s}: the extension's due time {own} is earlier than the "
                                  f"assignment's, {theirs}: it is applied (so the student's own due time is earlier "
                                  "than everyone else's)")
    dropped = sorted(s for s in students if s in stored and stored[s].extension is not None and s not in found)
    if dropped:
        files = sorted({stored[s].extension.where.rsplit(":", 1)[0] for s in dropped})
        batch.warnings.append(f"the last run of {out_dir} gave {len(dropped)} student(s) an extension "
                              f"({_shown(dropped)}, from {', '.join(files)}) that this run does not: pass --extensions "
                              f"FILE each time, or keep the file as {out_dir / EXTENSIONS_CSV}")
    left: dict[str, int] | None = None
    budget = 0
    if course is not None:
        left, budget, more = slip_days_left(load_course(course), assignment_root, out_dir)
        batch.warnings += more
    elif policy.takes_slip_days:
        batch.warnings.append("the late policy spends slip days, but no --course course.yaml was given: none are "
                              "spent in this run")
    for s in students:
        have = None if left is None else left.get(s, budget)
        batch.outcomes[s] = assess(policy, s, chosen[s], found.get(s), have)
        batch.records.append(Record(s, chosen[s], found.get(s)))
    unknown = [s for s, o in batch.outcomes.items() if o.status == UNKNOWN]
    if unknown:
        batch.warnings.append(f"no submission time for {len(unknown)} student(s) ({_shown(unknown)}): no late penalty "
                              "is applied to them; give their times with --times FILE (student,submitted_at)")
    return batch
