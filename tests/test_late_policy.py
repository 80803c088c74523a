"""Deadlines, the late policy, extensions and slip days (grader/policy/): the arithmetic, each source of submission
times (times.csv, Gradescope's metadata, the Canvas download's LATE mark), course.yaml's slip-day ledger, clear
errors for bad input, and the penalty applied when outputs are written: never stored, so a changed policy,
extension or time is re-applied by the next `grade` run without regrading (tests/test_late_grading.py)."""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from conftest import ROOT
from grader import cli
from grader.policy.course import ledger, load_course, slip_days_left, table
from grader.policy.errors import PolicyError
from grader.policy.extensions import Extension, read_extensions
from grader.policy.records import Record, read_records, write_records
from grader.policy.rules import GRACE, LATE, ON_TIME, UNKNOWN, LatePolicy, assess
from grader.policy.times import (SubmissionTime, canvas_times, read_gradescope_export,
                                 read_gradescope_submission, read_times, read_times_csv)
from grader.spec import SpecError, load_assignment

FIXTURES = Path(__file__).resolve().parent / "late"
BACKPROP = ROOT / "problems" / "backprop"
EDT = timezone(timedelta(hours=-4))
DUE = datetime(2026, 10, 15, 23, 59, tzinfo=EDT)
POLICY = {"due": "2026-10-15T23:59:00-04:00", "grace_minutes": 15,
          "penalty": {"per": "day", "percent": 10, "max_percent": 50}, "zero_after_days": 7, "slip_days": True}


def policy(**changes) -> LatePolicy:
    return LatePolicy.model_validate({**POLICY, **changes})


def at(after: timedelta, student: str = "s") -> SubmissionTime:
    return SubmissionTime(student, DUE + after, "times.csv", "times.csv:2")


def H(hours: float = 0, minutes: float = 0, days: float = 0) -> timedelta:
    return timedelta(days=days, hours=hours, minutes=minutes)


# --------------------------------------------------------------------------- the arithmetic


@pytest.mark.parametrize("after, status, percent", [
    (H(minutes=-1), ON_TIME, 0),
    (H(), ON_TIME, 0),
    (H(minutes=10), GRACE, 0),
    (H(minutes=15), GRACE, 0),  # the grace period's last moment
    (H(minutes=16), LATE, 10),  # one minute past the grace period: one started day
    (H(days=1, minutes=15), LATE, 10),
    (H(days=1, minutes=16), LATE, 20),
    (H(days=4, minutes=20), LATE, 50),  # five started days: the cap
    (H(days=7, minutes=15), LATE, 50),  # seven days after the grace period: still capped, not zero
    (H(days=7, minutes=16), LATE, 100),  # past zero_after_days
])
def test_grace_per_day_cap_and_zero(after, status, percent):
    outcome = assess(policy(slip_days=False), "s", at(after))
    assert (outcome.status, outcome.percent) == (status, percent)
    assert outcome.final(8.0) == pytest.approx(8.0 * (1 - percent / 100))


def test_per_hour_and_no_cap():
    rule = policy(penalty={"per": "hour", "percent": 2}, zero_after_days=None, grace_minutes=0)
    assert assess(rule, "s", at(H(minutes=1))).percent == 2
    assert assess(rule, "s", at(H(hours=3, minutes=1))).percent == 8
    assert assess(rule, "s", at(H(days=3))).percent == 100  # 72 hours: capped at 100 by default
    only_cutoff = policy(penalty=None, zero_after_days=2)  # no penalty, only a hard cutoff
    assert assess(only_cutoff, "s", at(H(days=1))).percent == 0
    assert assess(only_cutoff, "s", at(H(days=2, minutes=16))).percent == 100


def test_extension_in_days_or_a_new_due_time():
    rule = policy(slip_days=False)
    late = at(H(days=1, hours=2))
    assert assess(rule, "s", late).percent == 20
    by_days = assess(rule, "s", late, Extension("s", days=1))
    assert (by_days.status, by_days.percent, by_days.own_due) == (LATE, 10, DUE + H(days=1))
    assert assess(rule, "s", late, Extension("s", days=2)).status == ON_TIME
    new_due = Extension("s", due=DUE + H(days=1, hours=2), reason="illness")
    assert assess(rule, "s", late, new_due).status == ON_TIME
    assert "illness" in new_due.shown()


def test_slip_days_are_spent_where_they_lower_the_penalty():
    rule = policy()
    two_days = at(H(days=1, hours=6))  # two started days late
    assert assess(rule, "s", two_days, slip_left=None).slip_days_used == 0  # no course: none
    spent = assess(rule, "s", two_days, slip_left=5)
    assert (spent.slip_days_used, spent.slip_days_left, spent.percent) == (2, 3, 0)
    part = assess(rule, "s", two_days, slip_left=1)  # the budget runs out part-way: the rest is penalised
    assert (part.slip_days_used, part.slip_days_left, part.percent) == (1, 0, 10)
    assert assess(policy(slip_days=1), "s", two_days, slip_left=5).slip_days_used == 1  # at most 1 here
    zero = assess(rule, "s", at(H(days=9)), slip_left=1)  # zero even after the slip day: none spent
    assert (zero.slip_days_used, zero.percent) == (0, 100)
    rescued = assess(rule, "s", at(H(days=7, hours=3)), slip_left=1)  # one slip day brings it under the cutoff
    assert (rescued.slip_days_used, rescued.percent) == (1, 50)
    capped = assess(rule, "s", at(H(days=6)), slip_left=1)  # the cap is reached anyway: keep the day
    assert (capped.slip_days_used, capped.percent) == (0, 50)
    per_hour = policy(penalty={"per": "hour", "percent": 1}, zero_after_days=None)
    hours = assess(per_hour, "s", at(H(days=1, hours=6, minutes=15)), slip_left=1)  # 30 h past grace
    assert (hours.slip_days_used, hours.percent) == (1, 6)  # a slip day covers 24 hours


def test_a_late_mark_without_a_time():
    rule = policy()
    flagged = SubmissionTime("s", None, "canvas", "canvas-roster.csv", True)
    outcome = assess(rule, "s", flagged, slip_left=0)
    assert (outcome.status, outcome.percent, outcome.late_by) == (LATE, 10, "unknown")  # one period
    assert "no time" in outcome.notes[0] and "times.csv" in outcome.notes[0]
    assert assess(rule, "s", flagged, slip_left=2).slip_days_used == 1  # one slip day covers it
    assert assess(rule, "s", flagged, Extension("s", days=2)).status == ON_TIME  # Canvas's flag, not ours
    assert assess(rule, "s", SubmissionTime("s", None, "canvas", "x", False)).status == ON_TIME
    assert assess(rule, "s", None).status == UNKNOWN


def test_policy_keys_are_checked_with_their_line(tmp_path):
    root = _assignment(tmp_path, "late:\n  due: 2026-10-15 23:59:00\n  grace_minutes: -5\n"
                                 "  penalty: {per: week, percent: 10}\n  slip_day: true\n")
    with pytest.raises(SpecError) as err:
        load_assignment(root)
    said = "\n".join(str(i) for i in err.value.issues)
    assert "assignment.yaml:18: late.due: 2026-10-15T23:59:00 has no time zone" in said
    assert "assignment.yaml:19: late.grace_minutes: Input should be greater than or equal to 0" in said
    assert "assignment.yaml:20: late.penalty.per" in said and "assignment.yaml:21: late.slip_day: unknown field" in said
    zoned = _assignment(tmp_path / "z", "late:\n  due: 2026-10-15 23:59:00\n  time_zone: America/New_York\n")
    late = load_assignment(zoned).late
    assert late.due == datetime(2026, 10, 15, 23, 59, tzinfo=EDT) and late.tz.key == "America/New_York"
    with pytest.raises(SpecError, match="unknown time zone 'Mars/Olympus'"):
        load_assignment(_assignment(tmp_path / "m", "late:\n  due: 2026-10-15T23:59Z\n  time_zone: Mars/Olympus\n"))
    assert load_assignment(BACKPROP).late is None  # no late: key, nothing changes


# --------------------------------------------------------------------------- sources of times


def _csv(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_times_csv(tmp_path):
    path = _csv(tmp_path / "times.csv", "\ufeffStudent,Submitted_At\nalice,2026-10-16T08:30:00-04:00\n"
                                        "bob,2026-10-15T23:00:00Z\n\nzed,2026-10-15T23:00:00Z\n")
    found, warnings = read_times_csv(path, ["alice", "bob", "carol"])
    assert found["alice"].at == datetime(2026, 10, 16, 8, 30, tzinfo=EDT) and found["alice"].source == "times.csv"
    assert found["bob"].where == f"{path}:3" and "carol" not in found
    assert warnings == [f"{path}:5: no submission from 'zed' in this batch; its time is not used"]
    bad = _csv(tmp_path / "bad.csv", "student,submitted_at\nalice,yesterday\nbob,2026-10-15 23:00\n"
                                     "carol,2026-10-15T23:00Z\ncarol,2026-10-15T23:30Z\n")
    with pytest.raises(PolicyError) as err:
        read_times_csv(bad, ["alice", "bob", "carol"])
    assert err.value.problems == [
        f"{bad}:2: submitted_at for alice: 'yesterday' is not a date and time (expected ISO 8601, e.g. "
        "2026-10-16T08:30:00-04:00)",
        f"{bad}:3: submitted_at for bob: 2026-10-15T23:00:00 has no time zone (add its offset, e.g. "
        "2026-10-15T23:00-04:00, or Z for UTC)",
        f"{bad}:5: carol is listed twice (also line 4); keep one time"]
    local = _csv(tmp_path / "local.csv", "student,submitted_at\nbob,2026-10-15 23:00\n")
    zoned, _ = read_times_csv(local, ["bob"], policy(time_zone="America/New_York").input_zone)
    assert zoned["bob"].at.utcoffset() == timedelta(hours=-4)
    with pytest.raises(PolicyError, match=r"times2.csv:1: missing column\(s\) submitted_at; unknown column\(s\) "
                                          r"when; expected the columns student, submitted_at"):
        read_times_csv(_csv(tmp_path / "times2.csv", "student,when\nalice,x\n"), ["alice"])
    with pytest.raises(PolicyError, match="nope.csv: no such file"):
        read_times_csv(tmp_path / "nope.csv", ["alice"])


def test_gradescope_export_metadata():
    """The submission_metadata.yml of Gradescope's "Export Submissions": Ruby-symbol keys, Ruby timestamps, groups."""
    path = FIXTURES / "submission_metadata.yml"
    found, _ = read_times(path, ["submission_409194023", "1003", "1002", "other"])
    assert found["submission_409194023"].at == datetime(2026, 10, 17, 6, 10, 44, 861687, tzinfo=timezone.utc)
    assert found["1002"].at == found["1003"].at == datetime(2026, 10, 15, 21, 0, tzinfo=EDT)  # a group: both
    assert found["1002"].source == "gradescope" and "submission_409194024" in found["1002"].where
    by_email, _ = read_gradescope_export(path, ["jane.smith@example.edu"])
    assert by_email["jane.smith@example.edu"].at.hour == 6 and "other" not in found


def test_gradescope_autograder_metadata(tmp_path):
    """/autograder/submission_metadata.json: created_at, and the student's own due date (an extension given in
    Gradescope) in users[0].assignment."""
    meta = read_gradescope_submission(FIXTURES / "submission_metadata.json", "jane")
    assert meta.time.at == datetime(2026, 10, 17, 2, 10, 44, 365935, tzinfo=EDT)
    assert meta.assignment_due == DUE and meta.student_due == DUE + H(days=1)
    with pytest.raises(PolicyError, match="meta.json: created_at: expected a date and time"):
        read_gradescope_submission(_csv(tmp_path / "meta.json", '{"users": []}'), "jane")
    with pytest.raises(PolicyError, match="bad.json: not JSON"):
        read_gradescope_submission(_csv(tmp_path / "bad.json", "{"), "jane")


def test_canvas_late_marks(tmp_path):
    """The LATE in Canvas's file names, as the import records it in canvas-roster.csv."""
    from grader.lms.canvas_import import late_marks, stage

    download = tmp_path / "download"
    download.mkdir()
    (download / "smithjane_LATE_101_5001_solution.py").write_text("x = 1\n")
    (download / "doejohn_202_5002_solution.py").write_text("x = 2\n")
    out = tmp_path / "out"
    staged = stage(download, out)
    assert late_marks(out, staged.folder) == {"101": True, "202": False}
    assert late_marks(out, download) is None  # another folder: not this download's
    times = canvas_times(late_marks(out, staged.folder), "canvas-roster.csv")
    assert times["101"].at is None and times["101"].late_flag and "marked LATE" in times["101"].shown_source


def test_extensions_csv(tmp_path):
    path = _csv(tmp_path / "ext.csv", "student,days,due,reason\nalice,2,,illness\nbob,,2026-10-20T12:00-04:00,\n"
                                      "zed,1,,\n")
    found, warnings = read_extensions(path, ["alice", "bob"])
    assert found["alice"].days == 2 and found["alice"].reason == "illness"
    assert found["bob"].apply(DUE) == datetime(2026, 10, 20, 12, tzinfo=EDT)
    assert warnings == [f"{path}:4: no submission from 'zed' in this batch; its extension is not used"]
    bad = _csv(tmp_path / "bad.csv", "student,days,due\nalice,1,2026-10-20T12:00Z\nbob,,\ncarol,-1,\n"
                                     "dan,,2026-10-20\n")
    with pytest.raises(PolicyError) as err:
        read_extensions(bad, ["alice", "bob", "carol", "dan"])
    said = str(err.value)
    assert f"{bad}:2: alice: give either days" in said and "not both" in said and f"{bad}:3: bob:" in said
    assert f"{bad}:4: carol: days must be a positive number, got '-1'" in said
    assert f"{bad}:5: dan: due 2026-10-20 is a date without a time" in said


def test_records_round_trip(tmp_path):
    records = [Record("a", SubmissionTime("a", DUE, "times.csv", "t.csv:2"), Extension("a", days=1.5, reason="=cmd")),
               Record("b", SubmissionTime("b", None, "canvas", "roster", True), None), Record("c", None, None)]
    path = write_records(records, tmp_path / "submission-times.csv")
    back = read_records(path)
    assert back["a"].time.at == DUE and back["a"].extension.days == 1.5 and back["a"].extension.reason == "=cmd"
    assert back["b"].time.late_flag is True and back["b"].time.at is None and back["c"].time is None


# --------------------------------------------------------------------------- course.yaml and slip days


def _assignment(where: Path, late: str, ident: str = "backprop") -> Path:
    root = where / ident
    shutil.copytree(BACKPROP, root, ignore=shutil.ignore_patterns("samples", "samples.yaml", "__pycache__"))
    text = (root / "assignment.yaml").read_text().replace("id: backprop", f"id: {ident}")
    (root / "assignment.yaml").write_text(text + late)
    return root


def _late_block(due: str, slip: str = "true") -> str:
    return (f"late:\n  due: {due}\n  penalty: {{per: day, percent: 10}}\n  zero_after_days: 5\n"
            f"  slip_days: {slip}\n")


def test_course_spends_slip_days_in_order(tmp_path, capsys):
    _assignment(tmp_path, _late_block("2026-10-01T23:59:00-04:00"), "hw1")
    hw2 = _assignment(tmp_path, _late_block("2026-10-15T23:59:00-04:00", "1"), "hw2")
    _assignment(tmp_path, "", "hw3")  # no late policy: spends nothing
    course = tmp_path / "course.yaml"
    course.write_text("slip_days: 3\nassignments:\n  - {id: first, path: hw1, out: out/hw1}\n"
                      "  - {path: hw2, out: out/hw2}\n  - {path: hw3, out: out/hw3}\n")
    one, two = DUE - H(days=14), DUE

    def record(t: datetime | None, student: str) -> Record:
        return Record(student, SubmissionTime(student, t, "times.csv", "t") if t else None, None)

    write_records([record(one + H(days=1, hours=1), "alice"), record(one + H(hours=3), "bob"),
                   record(one - H(hours=1), "carol")], tmp_path / "out/hw1/submission-times.csv")
    # graded before hw1 in time, but spends after it: grading order does not matter
    write_records([record(two + H(days=1, hours=5), "alice"), record(two + H(days=2), "bob"),
                   record(None, "dan")], tmp_path / "out/hw2/submission-times.csv")
    book = ledger(load_course(course))
    assert [c.id for c in book.columns] == ["first", "hw2", "hw3"]
    assert book.columns[0].used == {"alice": 2, "bob": 1, "carol": 0}
    assert book.columns[1].used == {"alice": 1, "bob": 1, "dan": 0}  # at most 1 on hw2; alice had 1 left
    assert (book.left("alice"), book.left("bob"), book.left("carol")) == (0, 1, 3)
    left, budget, _ = slip_days_left(load_course(course), hw2, tmp_path / "out/hw2")
    assert (left["alice"], left["bob"], budget) == (1, 2, 3)
    assert table(book)[1] == ["alice", "2", "1", "", "3", "0"]
    code = cli.main(["course", str(course)])
    printed = capsys.readouterr()
    assert code == 0, printed.err
    assert "Slip days: 3 per student" in printed.out and (tmp_path / "course-slip-days.csv").is_file()
    assert (tmp_path / "course-slip-days.csv").read_text().splitlines()[0] == "student,first,hw2,hw3,used,remaining"
    assert "alice" in printed.out and "hw3" in printed.out


def test_course_yaml_errors_name_file_line_and_key(tmp_path, capsys):
    _assignment(tmp_path, _late_block("2026-10-01T23:59:00-04:00"), "hw1")
    course = tmp_path / "course.yaml"
    course.write_text("slip_days: -1\nassignments:\n  - {path: hw1, out: o1}\n  - {path: nowhere, out: o2, "
                      "due: x}\n")
    with pytest.raises(PolicyError) as err:
        load_course(course)
    said = str(err.value)
    assert f"{course}:1: slip_days: Input should be greater than or equal to 0" in said
    assert f"{course}:4: assignments[1].due: unknown field" in said
    course.write_text("slip_days: 2\nassignments:\n  - {path: hw1, out: o1}\n  - {path: nowhere, out: o2}\n")
    code = cli.main(["course", str(course)])
    err_text = capsys.readouterr().err
    assert code == 2 and f"{course}:4: assignments[1].path: no assignment.yaml in" in err_text
    assert "Traceback" not in err_text
    with pytest.raises(PolicyError, match="lists no assignment in"):
        slip_days_left(load_course(_yaml(tmp_path / "c2.yaml", "slip_days: 1\nassignments: [{path: hw1, out: o}]\n")),
                       tmp_path / "elsewhere", tmp_path / "o")


def _yaml(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_a_runs_sources_in_order_and_a_dropped_extension_is_told(tmp_path):
    """This run's times file, then a time an earlier run recorded, then this run's Canvas mark, then a recorded
    mark; an extension the last run applied and this one does not is a warning naming its file."""
    from grader.policy.batch import prepare

    out = tmp_path / "out"
    write_records([Record("a", SubmissionTime("a", DUE + H(days=2), "times.csv", "old.csv:2"),
                          Extension("a", days=1, where="/ext/extensions.csv:2")),
                   Record("b", SubmissionTime("b", DUE + H(days=3), "times.csv", "old.csv:3"), None),
                   Record("c", SubmissionTime("c", None, "canvas", "roster", True), None)],
                  out / "submission-times.csv")
    times = _csv(tmp_path / "times.csv", "student,submitted_at\na,2026-10-15T23:00:00-04:00\n")
    batch = prepare(policy(slip_days=False), ["a", "b", "c", "d"], out, assignment_root=tmp_path, times=times,
                    canvas={"b": False, "c": False, "d": True})
    chosen = {r.student: r.time for r in batch.records}
    assert chosen["a"].where == f"{times}:2"  # this run's file
    assert chosen["b"].where == "old.csv:3"  # a recorded time beats a mark
    assert chosen["c"].late_flag is False and chosen["d"].late_flag is True  # this run's marks
    assert batch.outcomes["b"].percent == 30 and batch.outcomes["d"].late_by == "unknown"
    assert any("gave 1 student(s) an extension (a, from /ext/extensions.csv)" in w for w in batch.warnings)
    assert prepare(None, ["a"], out, assignment_root=tmp_path).outcomes == {}


# --------------------------------------------------------------------------- elapsed time, DST and extension days

NEW_YORK = {"due": "2026-10-30T23:59:00", "time_zone": "America/New_York",
            "penalty": {"per": "day", "percent": 10}}  # daylight saving time ends on 2026-11-01
EST = timezone(timedelta(hours=-5))


def test_lateness_is_elapsed_time_however_the_times_are_written(tmp_path):
    """A time without an offset (in time_zone) and the same instant with one, or in UTC, are equally late: the
    times are subtracted in UTC, never as wall-clock times sharing one ZoneInfo; a late day is 24 hours."""
    zoned = LatePolicy.model_validate(NEW_YORK)
    offset = LatePolicy.model_validate({**NEW_YORK, "due": "2026-10-30T23:59:00-04:00"})
    path = _csv(tmp_path / "times.csv", "student,submitted_at\nlocal,2026-11-02T23:30:00\n"
                                        "offset,2026-11-02T23:30:00-05:00\nutc,2026-11-03T04:30:00Z\n")
    found, _ = read_times_csv(path, ["local", "offset", "utc"], zoned.input_zone)
    for rule in (zoned, offset):
        got = {s: (assess(rule, s, t).late_by, assess(rule, s, t).percent) for s, t in found.items()}
        assert got == {s: ("3 days 31 min", 40) for s in found}, got
    # what a run records (fixed offsets, read back by a later run and by `grader course`) reckons the same
    write_records([Record(s, t, None) for s, t in found.items()], tmp_path / "submission-times.csv")
    back = read_records(tmp_path / "submission-times.csv")
    assert {assess(zoned, s, r.time).late_by for s, r in back.items()} == {"3 days 31 min"}
    # one second more than 3 days after the due time, on the clock, is 3 days 1 h 1 s of real time: 4 started days
    wall = SubmissionTime("s", datetime(2026, 11, 2, 23, 59, 1, tzinfo=zoned.input_zone), "times.csv", "t")
    assert (assess(zoned, "s", wall).late_by, assess(zoned, "s", wall).percent) == ("3 days 1 h 1 s", 40)


def test_extension_days_are_calendar_days_in_the_time_zone():
    """days: 2 keeps the due time's wall clock in time_zone across DST, whether the due has an offset or not;
    without a time_zone a day is 24 hours; a fraction is of a calendar day too."""
    from grader.policy.times import shown_time

    zoned = LatePolicy.model_validate(NEW_YORK)
    offset = LatePolicy.model_validate({**NEW_YORK, "due": "2026-10-30T23:59:00-04:00"})
    for rule in (zoned, offset):
        own = assess(rule, "s", None, Extension("s", days=2)).own_due
        assert own == datetime(2026, 11, 1, 23, 59, tzinfo=EST) and shown_time(own, rule.tz) == "2026-11-01 23:59 EST"
        assert assess(rule, "s", None, Extension("s", days=1.5)).own_due == datetime(2026, 11, 1, 11, 59, tzinfo=EST)
        on_time = SubmissionTime("s", datetime(2026, 11, 1, 23, 59, tzinfo=EST), "times.csv", "t")
        assert assess(rule, "s", on_time, Extension("s", days=2)).status == ON_TIME
    no_zone = LatePolicy.model_validate({"due": "2026-10-30T23:59:00-04:00"})
    assert assess(no_zone, "s", None, Extension("s", days=2)).own_due == datetime(2026, 11, 1, 22, 59, tzinfo=EST)
    elapsed_days = Extension("s", days=2, calendar=False)  # a difference of two instants (Gradescope's): 48 hours
    assert assess(zoned, "s", None, elapsed_days).own_due == datetime(2026, 11, 1, 22, 59, tzinfo=EST)
    spring = LatePolicy.model_validate({"due": "2026-03-07T23:59:00", "time_zone": "America/New_York"})
    own = assess(spring, "s", None, Extension("s", days=1)).own_due  # 23 hours later: DST starts on 2026-03-08
    assert shown_time(own, spring.tz) == "2026-03-08 23:59 EDT"
    assert "(24 hours)" in " ".join(zoned.lines())  # the report says what a late day is


# --------------------------------------------------------------------------- slip days on a submission scoring 0


def test_no_slip_days_are_spent_on_a_submission_that_scores_zero():
    spent = assess(policy(), "s", at(H(days=1, hours=8)), slip_left=3)
    assert (spent.slip_days_used, spent.percent) == (2, 0)
    assert spent.scored(5.0) is spent
    zero = spent.scored(0.0)
    assert (zero.slip_days_used, zero.slip_days_left, zero.percent, zero.final(0.0)) == (0, 3, 20, 0)
    assert "no slip days spent: the submission scores 0" in zero.notes[-1]
    assert "penalty 20% (of no points earned)" in zero.headline(0.0)
    assert zero.scored(5.0).slip_days_used == 2 and zero.scored(0.00001).slip_days_used == 0  # rounded as scores.csv
    zeroed = assess(policy(), "s", at(H(days=9)), slip_left=1).scored(0.0)
    assert zeroed.slip_days_used == 0 and not zeroed.notes  # none would have been spent anyway: nothing to say


def _scores_csv(path: Path, rows: list[tuple[str, str, str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("student,problem,score,max_score,passed,failed,errors,pending,slip_days_used\n"
                    + "".join(f"{s},{p},{score},5,0,0,0,0,{used}\n" for s, p, score, used in
                              [(s, p, score, "") for s, p, score in rows]))


def test_the_course_ledger_reads_the_raw_scores(tmp_path):
    """grader course (and grade --course of a later assignment) spends no slip days on a submission scoring 0
    either: it reads the raw score back from the assignment's scores.csv."""
    _assignment(tmp_path, _late_block("2026-10-01T23:59:00-04:00"), "hw1")
    course = _yaml(tmp_path / "course.yaml", "slip_days: 3\nassignments:\n  - {path: hw1, out: out/hw1}\n")
    due = DUE - H(days=14)
    write_records([Record(s, SubmissionTime(s, due + H(days=1, hours=8), "times.csv", "t"), None)
                   for s in ("empty", "worked")], tmp_path / "out/hw1/submission-times.csv")
    book = ledger(load_course(course))
    assert book.columns[0].used == {"empty": 2, "worked": 2}
    assert any("no readable" in w and "scores.csv" in w for w in book.warnings)
    _scores_csv(tmp_path / "out/hw1/scores.csv", [("empty", "a", "0"), ("empty", "b", "0"), ("worked", "a", "0"),
                                                  ("worked", "b", "2.5")])
    book = ledger(load_course(course))
    assert book.columns[0].used == {"empty": 0, "worked": 2} and (book.left("empty"), book.left("worked")) == (3, 1)
    assert not any("no readable" in w for w in book.warnings)


def test_course_says_an_assignment_has_no_late_policy(tmp_path, capsys):
    _assignment(tmp_path, "", "hw0")
    course = _yaml(tmp_path / "course.yaml", "slip_days: 2\nassignments:\n  - {path: hw0, out: out/hw0}\n")
    assert cli.main(["course", str(course), "--out", "-"]) == 0
    printed = capsys.readouterr()
    assert "hw0:" in printed.err and "has no late: policy, so it spends no slip days" in printed.err
    _scores_csv(tmp_path / "out/hw0/scores.csv", [("alice", "a", "3")])  # graded: listed, with none spent
    assert cli.main(["course", str(course), "--out", "-"]) == 0
    printed = capsys.readouterr()
    assert "(no student graded yet)" not in printed.out and "has no late: policy" in printed.err
    assert [line.split() for line in printed.out.splitlines()[1:3]] == [["student", "hw0", "used", "remaining"],
                                                                       ["alice", "0", "0", "2"]]
    assert "written with other slip days" not in printed.err


# --------------------------------------------------------------------------- out of range: errors, not tracebacks


def test_out_of_range_days_and_times_are_errors_naming_the_row(tmp_path):
    ext = _csv(tmp_path / "ext.csv", "student,days\na,1e308\nb,1000000000\nc,3650\n")
    with pytest.raises(PolicyError) as err:
        read_extensions(ext, ["a", "b", "c"])
    assert [p.split(" is too many")[0] for p in err.value.problems] == [f"{ext}:2: a: days '1e308'",
                                                                        f"{ext}:3: b: days '1000000000'"]
    times = _csv(tmp_path / "times.csv", "student,submitted_at\na,9999-12-31T23:59:00-04:00\n"
                                         "b,0001-01-01T00:00:00+01:00\nc,9999-12-31T00:00:00Z\nd,0001-01-01T00:00Z\n")
    with pytest.raises(PolicyError) as err:
        read_times_csv(times, ["a", "b", "c", "d"])
    assert [p.split(": ", 1)[0] for p in err.value.problems] == [f"{times}:{n}" for n in (2, 3, 4, 5)]
    assert all("is out of range (expected a time between the years 1970 and 2999)" in p for p in err.value.problems)
    ext_due = _csv(tmp_path / "ext2.csv", "student,due\na,9999-12-31T23:59:00-04:00\n")
    with pytest.raises(PolicyError, match=r"ext2.csv:2: a: due 9999-12-31T23:59:00-04:00 is out of range"):
        read_extensions(ext_due, ["a"])
    for late, key in (("late:\n  due: 9999-12-31T23:59-04:00\n", "late.due: 9999-12-31T23:59:00-04:00 is out of range"),
                      ("late:\n  due: 2026-10-15T23:59Z\n  grace_minutes: 1e308\n", "late.grace_minutes"),
                      ("late:\n  due: 2026-10-15T23:59Z\n  zero_after_days: 1.0e+308\n", "late.zero_after_days")):
        with pytest.raises(SpecError) as spec:
            load_assignment(_assignment(tmp_path / key, late))
        assert any(key in str(i) and "assignment.yaml:" in str(i) for i in spec.value.issues), spec.value.issues
    # a record written by hand with such days is not used (a warning), never a traceback
    records = _csv(tmp_path / "submission-times.csv", ",".join(
        ["student", "submitted_at", "source", "where", "canvas_late", "extension_days", "extension_due",
         "extension_reason", "extension_where"]) + "\na,2026-10-16T00:00:00Z,times.csv,t,,1e308,,,\n")
    with pytest.raises(PolicyError, match="submission-times.csv:2: days '1e308' is too many"):
        read_records(records)


# --------------------------------------------------------------------------- inputs that were accepted silently


def test_doubtful_inputs_are_warnings(tmp_path):
    """An extension earlier than the assignment's due time; a recorded time applied to a student this run's times
    file has no row for."""
    from grader.policy.batch import prepare

    out = tmp_path / "out"
    write_records([Record("a", SubmissionTime("a", DUE + H(days=2), "times.csv", "/old/times.csv:3"), None),
                   Record("b", SubmissionTime("b", DUE + H(days=1), "times.csv", "/old/times.csv:2"), None)],
                  out / "submission-times.csv")
    times = _csv(tmp_path / "times.csv", "student,submitted_at\nb,2026-10-15T23:00:00-04:00\n")
    ext = _csv(tmp_path / "ext.csv", "student,due,reason\nb,2026-10-14T23:59:00-04:00,exam trip\n")
    batch = prepare(policy(slip_days=False), ["a", "b"], out, assignment_root=tmp_path, times=times, extensions=ext)
    kept = [w for w in batch.warnings if "still applied" in w]
    assert len(kept) == 1 and f"{times} gives no time for 1 student(s)" in kept[0]
    assert "(a from /old/times.csv:3)" in kept[0] and "submission-times.csv" in kept[0]
    early = [w for w in batch.warnings if "earlier than the assignment's" in w]
    assert len(early) == 1 and early[0].startswith(f"{ext}:2: b: the extension's due time 2026-10-14 23:59 -04:00")
    assert batch.outcomes["b"].status == LATE  # applied all the same: 23:00 on the 15th is after the 14th
    quiet = prepare(policy(slip_days=False), ["a", "b"], out, assignment_root=tmp_path)  # no times file this run
    assert not any("still applied" in w for w in quiet.warnings)


def test_gradescope_export_submitters_must_be_a_list(tmp_path):
    path = _csv(tmp_path / "submission_metadata.yml",
                "submission_1:\n  :submitters:\n    :sid: '1001'\n  :created_at: 2026-10-15 21:00:00.0 -04:00\n"
                "submission_2:\n  :submitters: '1002'\n  :created_at: 2026-10-15 21:00:00.0 -04:00\n"
                "submission_3:\n  :submitters:\n  - '1003'\n  :created_at: 2026-10-15 21:00:00.0 -04:00\n"
                "submission_4:\n  :submitters:\n  - :sid: '1004'\n  :created_at: 2026-10-15 21:00:00.0 -04:00\n")
    with pytest.raises(PolicyError) as err:
        read_gradescope_export(path, ["1001", "1002", "1003", "1004"])
    assert err.value.problems == [
        f"{path}: submission_1: :submitters: should be a list of submitters (each with :sid: or :email:), got a "
        "mapping ({':sid': '1001'})",
        f"{path}: submission_2: :submitters: should be a list of submitters (each with :sid: or :email:), got text "
        "('1002')",
        f"{path}: submission_3: :submitters: submitter 1 is not a mapping with :sid: or :email:"]


# --------------------------------------------------------------------------- wording


def test_grace_is_on_time_and_late_by_has_seconds():
    from grader.export.scores import _late
    from grader.policy.times import shown_duration

    rule = policy(grace_minutes=14, slip_days=False)
    grace = assess(rule, "s", at(H(minutes=14)))
    assert grace.status == GRACE and grace.late_by == "on time (within the grace period, 14 min after the due time)"
    assert grace.headline(5).startswith("On time (within the grace period): submitted 2026-10-16 00:13 -04:00")
    assert "late by" not in grace.headline(5).lower()
    past = assess(rule, "s", at(H(minutes=14) + timedelta(seconds=1)))
    assert (past.status, past.late_by, past.percent) == (LATE, "14 min 1 s", 10)
    assert "submitted 2026-10-16 00:13:01 -04:00" in past.headline(5)
    just = assess(rule, "s", at(H(minutes=14) + timedelta(microseconds=1)))  # rounded up: never "14 min"
    assert (just.status, just.late_by) == (LATE, "14 min 1 s")
    assert shown_duration(H(days=2, hours=3, minutes=1)) == "2 days 3 h 1 min"
    assert shown_duration(timedelta(seconds=59.2)) == "1 min" and shown_duration(timedelta(seconds=3)) == "3 s"
    assert _late({"late_by": grace.late_by, "penalty_percent": "0", "slip_days_used": "0"}, 0) == grace.late_by
    assert _late({"late_by": "14 min 1 s", "penalty_percent": "10", "slip_days_used": "0"}, 0.5) == \
        "late by 14 min 1 s: late penalty 10% (-0.5)"
