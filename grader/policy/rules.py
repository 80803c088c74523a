"""The late policy of assignment.yaml (``late:``) and the arithmetic from a submission time to a penalty.

```yaml
late:
  due: 2026-10-15T23:59:00-04:00   # with its offset (or Z); or a time without one and a time_zone
  time_zone: America/New_York      # optional: how times are shown, and the zone of times written without one
  grace_minutes: 15                # optional (0): a submission this close after the due time is on time
  penalty: {per: day, percent: 10, max_percent: 50}   # optional: per started day (or hour) late, capped
  zero_after_days: 7               # optional: later than this (after grace, extension and slip days): 0 points
  slip_days: true                  # optional (false): spend the course's slip days (course.yaml); or a number,
                                   # the most this assignment may take
```

How lateness is counted (:func:`assess`): the student's own due time is the policy's ``due`` moved by their
extension (calendar days in ``time_zone``: :meth:`grader.policy.extensions.Extension.apply`); a submission up to
``grace_minutes`` after it is on time. Lateness is *elapsed* time, the two instants subtracted in UTC, however each
was written (with an offset, or without one in ``time_zone``): a late day is 24 hours, so a submission 3 days
after the due time on the clock across the end of daylight saving time (3 days and 1 hour) is late by 3 days 1 h.
Past the grace period, lateness is counted from its end in *started* periods: one second late past the grace period
is one day (``per: day``) or one hour late. Slip days move the student's own due time by 24 hours each before the
penalty is counted: each covers one started day, and with ``per: hour`` 24 hours. They are spent only where they
lower the penalty, and no more than the lowest penalty they can reach needs: none where the cap is reached anyway,
and none on a submission that scores 0 (its raw score, as scores.csv writes it; :meth:`LateOutcome.scored`, which
every output applies, and :func:`grader.policy.course.ledger`, which reads each assignment's scores.csv). The
penalty is ``percent`` per late period, at most ``max_percent``, and 100% after ``zero_after_days`` days (24 hours
each); it takes that percentage off the points earned (problem by problem, so the problems' final scores add up
to the final total). A submission marked late with no time known (Canvas's LATE mark) is late by one period (one
day or one hour), with a note saying so and how to give its time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from grader.policy.extensions import MOST_DAYS, Extension
from grader.policy.times import SubmissionTime, elapsed, parse_time, shown_duration, shown_time

DAY = timedelta(days=1)
MOST_GRACE_MINUTES = 525600  #: a year: more is a typo (and would overflow the arithmetic)
PERIODS = {"day": DAY, "hour": timedelta(hours=1)}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Penalty(_Strict):
    """``percent`` off the points earned per started ``per`` late, at most ``max_percent``."""

    per: Literal["day", "hour"]
    percent: float = Field(ge=0, le=100)
    max_percent: float = Field(100.0, ge=0, le=100)


class LatePolicy(_Strict):
    """The ``late:`` key of assignment.yaml."""

    time_zone: str | None = None  #: an IANA name, e.g. America/New_York (declared before ``due``, which uses it)
    due: datetime
    grace_minutes: float = Field(0.0, ge=0, le=MOST_GRACE_MINUTES)
    penalty: Penalty | None = None
    zero_after_days: float | None = Field(None, gt=0, le=MOST_DAYS)
    slip_days: bool | int = False

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, name: str | None) -> str | None:
        if name is not None:
            try:
                ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"unknown time zone {name!r} (an IANA name such as America/New_York, or UTC)") \
                    from None
        return name

    @field_validator("due", mode="before")
    @classmethod
    def _due(cls, value: Any, info: ValidationInfo) -> datetime:
        zone = info.data.get("time_zone")
        try:
            return parse_time(value, ZoneInfo(zone) if zone else None)
        except ValueError as exc:
            raise ValueError(f"{exc}; or name the zone with time_zone: (e.g. America/New_York)"
                             if "no time zone" in str(exc) else str(exc)) from None

    @field_validator("slip_days", mode="before")
    @classmethod
    def _slip_days(cls, value: Any) -> bool | int:
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and value >= 0:
            return value
        raise ValueError("expected true, false or the most slip days this assignment may take (0 or more)")

    @property
    def tz(self) -> tzinfo:
        """The zone times are shown in: ``time_zone``, else the due time's own offset."""
        return ZoneInfo(self.time_zone) if self.time_zone else self.due.tzinfo  # type: ignore[return-value]

    @property
    def input_zone(self) -> tzinfo | None:
        """The zone of a time written without an offset in times.csv or extensions.csv (None: such a time is an
        error)."""
        return ZoneInfo(self.time_zone) if self.time_zone else None

    @property
    def grace(self) -> timedelta:
        return timedelta(minutes=self.grace_minutes)

    @property
    def period(self) -> timedelta:
        return PERIODS[self.penalty.per] if self.penalty else DAY

    @property
    def per(self) -> str:
        return self.penalty.per if self.penalty else "day"

    @property
    def takes_slip_days(self) -> bool:
        return self.slip_days is not False and self.slip_days != 0

    def slip_allowance(self, left: int | None) -> int:
        """How many slip days this assignment may take from a student with ``left`` (None: no course, none)."""
        if not self.takes_slip_days or left is None:
            return 0
        return max(0, left if self.slip_days is True else min(left, int(self.slip_days)))

    def percent_for(self, late: timedelta) -> float:
        """The penalty (percent of the points earned) for ``late`` past the student's due time and grace."""
        if late <= timedelta(0):
            return 0.0
        if self.zero_after_days is not None and late > timedelta(days=self.zero_after_days):
            return 100.0
        if self.penalty is None:
            return 0.0
        return min(_started(late, self.period) * self.penalty.percent, self.penalty.max_percent)

    def lines(self) -> list[str]:
        """The policy in words, one rule per line (for reports)."""
        tz = self.tz
        out = [f"Due {shown_time(self.due, tz)}" + (f", with {self.grace_minutes:g} minutes' grace"
                                                    if self.grace_minutes else "") + "."]
        if self.penalty:
            p = self.penalty
            cap = f", at most {p.max_percent:g}%" if p.max_percent < 100 else ""
            length = " (24 hours)" if p.per == "day" else ""
            out.append(f"Late: {p.percent:g}% off the points earned per started {p.per}{length} late{cap}.")
        if self.zero_after_days is not None:
            days = self.zero_after_days
            out.append(f"More than {days:g} day{'s' if days != 1 else ''} ({days * 24:g} hours) late: 0 points.")
        if self.takes_slip_days:
            most = "" if self.slip_days is True else f" (at most {self.slip_days} on this assignment)"
            out.append(f"Slip days are spent where they lower the penalty{most} (none on a submission that scores "
                       "0); each covers one started day (24 hours).")
        return out


def _started(span: timedelta, period: timedelta) -> int:
    """How many periods ``span`` has started (1 second is one started day)."""
    return -((-span) // period) if span > timedelta(0) else 0


# --------------------------------------------------------------------------- one student's outcome

ON_TIME, GRACE, LATE, UNKNOWN = "on_time", "grace", "late", "unknown"


@dataclass(frozen=True)
class LateOutcome:
    """What the policy makes of one student's submission time: how late, the slip days spent, the penalty."""

    student: str
    policy: LatePolicy
    own_due: datetime  #: the policy's due time moved by the student's extension
    time: SubmissionTime | None  #: None: no time is known for the student
    extension: Extension | None
    status: str  #: on_time, grace (late within the grace period), late, or unknown (no time: no penalty)
    after_due: timedelta | None  #: submitted minus the own due time; None when the time is unknown
    late_days: int  #: started days past the own due time and grace, before slip days (1 for a LATE mark alone)
    slip_days_used: int
    slip_days_left: int | None  #: after this assignment, with a course; None without one
    percent: float  #: the penalty, percent of the points earned
    notes: tuple[str, ...] = ()
    slip_offered: int | None = None  #: the slip days the student had left before this assignment (None: no course)
    scores_zero: bool = False  #: assessed for a submission that scores 0 (so no slip days were spent)

    @property
    def zeroed(self) -> bool:
        return self.percent >= 100.0

    @property
    def submitted(self) -> datetime | None:
        return self.time.at if self.time else None

    def penalty(self, raw: float) -> float:
        """The points taken off ``raw`` points earned."""
        return round(max(raw, 0.0) * self.percent / 100.0, 6)

    def final(self, raw: float) -> float:
        return round(raw - self.penalty(raw), 6)

    def scored(self, raw: float) -> "LateOutcome":
        """This outcome for a submission that earned ``raw`` points (before the penalty): one that scores 0
        (rounded to 4 decimals, as scores.csv writes it) spends no slip days, since the penalty takes nothing off it
        anyway. Every output applies it with the student's raw score; ``grader course`` reads that score back from
        scores.csv, so both count the same slip days."""
        zero = round(raw, 4) <= 0
        if zero == self.scores_zero:
            return self
        return assess(self.policy, self.student, self.time, self.extension, self.slip_offered, scores_zero=zero)

    @property
    def delay(self) -> str:
        """How long after the own due time it was submitted, in words (empty when not after it, or unknown)."""
        if self.after_due is None or self.after_due <= timedelta(0):
            return ""
        return shown_duration(self.after_due)

    @property
    def late_by(self) -> str:
        """How late, in words: empty when on time, ``unknown`` for a LATE mark without a time, and within the grace
        period ``on time (within the grace period, 14 min 30 s after the due time)``."""
        if self.status in (ON_TIME, UNKNOWN):
            return ""
        if self.status == GRACE:
            return f"on time (within the grace period, {self.delay} after the due time)"
        if self.after_due is None:
            return "unknown"
        return shown_duration(self.after_due)

    @property
    def source(self) -> str:
        return self.time.shown_source if self.time else "none"

    def headline(self, raw: float) -> str:
        """One line: how late, slip days, the penalty in percent and points."""
        tz = self.policy.tz
        if self.status == UNKNOWN:
            return "Submission time unknown: no late penalty applied."
        when = f"submitted {shown_time(self.submitted, tz)}" if self.submitted else "submitted"
        where = f" ({self.source})"
        if self.status == ON_TIME:
            return f"On time: {when}{where}, due {shown_time(self.own_due, tz)}."
        if self.status == GRACE:
            return (f"On time (within the grace period): {when}{where}, {self.delay} after the due time "
                    f"{shown_time(self.own_due, tz)}.")
        said = (f"Late by {self.late_by}: {when}{where}, due {shown_time(self.own_due, tz)}"
                if self.after_due is not None else f"Late, by an unknown amount{where}")
        slip = (f"; {self.slip_days_used} slip day{'s' if self.slip_days_used != 1 else ''} spent"
                + (f" ({self.slip_days_left} left)" if self.slip_days_left is not None else "")
                if self.slip_days_used else "")
        points = _points(self.penalty(raw))
        cost = ("; no penalty" if not self.percent else
                f"; penalty {self.percent:g}% (of no points earned)" if round(raw, 4) <= 0 else
                f"; penalty {self.percent:g}% (-{points} point{'' if points == '1' else 's'})")
        return said + slip + cost + "."


def _points(value: float) -> str:
    return f"{round(value, 2):g}"


def assess(policy: LatePolicy, student: str, time: SubmissionTime | None, extension: Extension | None = None,
           slip_left: int | None = None, *, scores_zero: bool = False) -> LateOutcome:
    """The outcome of ``student``'s submission at ``time`` under ``policy``, with their ``extension`` and
    ``slip_left`` slip days left in the course (None: no course, no slip days); ``scores_zero``: the submission
    scores 0, so no slip days are spent on it (:meth:`LateOutcome.scored` settles it once the score is known)."""
    own_due = extension.apply(policy.due, policy.input_zone) if extension is not None else policy.due
    notes: list[str] = []

    def outcome(status: str, after: timedelta | None, late_days: int = 0, used: int = 0, percent: float = 0.0):
        left = None if slip_left is None else slip_left - used
        return LateOutcome(student, policy, own_due, time, extension, status, after, late_days, used, left, percent,
                           tuple(notes), slip_left, scores_zero)

    if time is None:
        return outcome(UNKNOWN, None)
    if time.at is None:  # only a LATE mark
        if not time.late_flag:
            return outcome(ON_TIME, None)
        if extension is not None:
            notes.append("Canvas marks this submission late against its own due date, which the extension "
                         "moved; without a time it is taken as on time (give its time in times.csv)")
            return outcome(ON_TIME, None)
        notes.append(f"Canvas marks this submission late but gives no time: it counts as one {policy.per} "
                     "late; the course staff can give its time in a times.csv (student,submitted_at)")
        over, after = policy.period, None
    else:
        after = elapsed(time.at, own_due)  # real time, however the two were written (never wall-clock time)
        if after <= timedelta(0):
            return outcome(ON_TIME, after)
        over = after - policy.grace
        if over <= timedelta(0):
            return outcome(GRACE, after)
    late_days = _started(over, DAY)
    most = min(policy.slip_allowance(slip_left), late_days)
    percents = [policy.percent_for(over - used * DAY) for used in range(most + 1)]
    used = percents.index(min(percents))  # the fewest slip days that reach the lowest penalty
    if scores_zero and used:
        notes.append("no slip days spent: the submission scores 0, so the late penalty takes nothing off it")
        used = 0
    return outcome(LATE, after, late_days, used, percents[used])
