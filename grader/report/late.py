"""What the reports show of the late policy: the student's due time, submission time and its source, how late,
the slip days spent and the penalty (from :class:`grader.policy.rules.LateOutcome`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from grader.policy.rules import GRACE, LATE, ON_TIME, LateOutcome
from grader.policy.times import elapsed, shown_time


@dataclass(frozen=True)
class LateView:
    status: str  #: on_time, grace, late or unknown
    headline: str  #: the reckoning in one sentence
    due: str  #: the student's own due time (extension included)
    policy_due: str  #: the assignment's, when an extension moved the student's
    extension: str  #: the extension in words, or empty
    submitted: str  #: the submission time, or "unknown"
    source: str  #: where the time came from
    late_by: str  #: how late (``2 days 3 h 1 min``, ``unknown``), or ``on time``, or ``on time (within the grace ...)``
    slip_days_used: int
    slip_days_left: int | None
    percent: float
    penalty: float  #: points taken off
    raw_score: float
    final_score: float
    rules: list[str]  #: the policy in words
    notes: list[str]

    @property
    def late(self) -> bool:
        return self.status == LATE

    @property
    def flag(self) -> str:
        """A short mark for the class summary's table: the penalty, or the slip days that covered it."""
        if self.status != LATE:
            return "grace" if self.status == GRACE else ""
        if self.percent:
            return f"-{self.percent:g}%"
        if self.slip_days_used:
            return f"{self.slip_days_used} slip day{'s' if self.slip_days_used != 1 else ''}"
        return "late, no penalty"


def late_view(outcome: LateOutcome, raw: float) -> LateView:
    """What a report shows of ``outcome`` for a submission that earned ``raw`` points (settled with it: one that
    scores 0 spends no slip days)."""
    outcome = outcome.scored(raw)
    tz = outcome.policy.tz
    moved = elapsed(outcome.own_due, outcome.policy.due) != timedelta(0)
    return LateView(
        outcome.status, outcome.headline(raw), shown_time(outcome.own_due, tz),
        shown_time(outcome.policy.due, tz) if moved else "",
        outcome.extension.shown(tz) if outcome.extension is not None else "",
        shown_time(outcome.submitted, tz) if outcome.submitted else ("unknown" if outcome.status != ON_TIME else
                                                                      "on time (no time given)"),
        outcome.source, outcome.late_by or ("on time" if outcome.status in (ON_TIME, GRACE) else ""),
        outcome.slip_days_used, outcome.slip_days_left, outcome.percent, outcome.penalty(raw), raw,
        outcome.final(raw), outcome.policy.lines(), list(outcome.notes))
