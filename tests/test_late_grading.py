"""The late policy end to end: a Canvas download (its LATE marks), a times.csv, an extension and slip days each
change the final grade in every output (scores.csv, results.json, the reports, the Canvas and Moodle exports); a
changed policy, extension or time is re-applied by the next `grade` run without regrading anything; and
`grader gradescope` takes its time and a Gradescope extension from submission_metadata.json."""

from __future__ import annotations

import csv
import json
import re
import shutil
import sqlite3
from html import unescape
from pathlib import Path

import pytest

from conftest import ROOT
from grader import cli
from grader.export import export

BACKPROP = ROOT / "problems" / "backprop"
SAMPLES = BACKPROP / "samples"
FIXTURES = Path(__file__).resolve().parent / "late"
PROBLEM = "softmax-xent-grad"  # grades in a second or two
LATE = """late:
  due: 2026-10-15T23:59:00-04:00
  grace_minutes: 15
  penalty: {per: day, percent: 10, max_percent: 50}
  zero_after_days: 5
  slip_days: true
"""
#: Canvas's bulk-download names: <name>_[LATE_]<user id>_<attachment id>_<file>
DOWNLOAD = {"numpyfirst_LATE_101_5001_solution.py": "correct-numpy", "signslip_102_5002_solution.py": "softmax-sign",
            "numpysecond_LATE_103_5003_solution.py": "correct-numpy"}


def _assignment(tmp_path: Path, late: str = LATE) -> Path:
    root = tmp_path / "hw"
    shutil.copytree(BACKPROP, root, ignore=shutil.ignore_patterns("samples", "samples.yaml", "__pycache__"))
    (root / "assignment.yaml").write_text((BACKPROP / "assignment.yaml").read_text() + late)
    return root


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def finals(out: Path) -> dict[str, dict[str, float]]:
    """Each student's final grade as every output has it."""
    found: dict[str, dict[str, float]] = {}

    def put(where: str, student: str, value: float) -> None:
        found.setdefault(where, {})[student] = round(value, 4)

    with open(out / "scores.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            put("scores.csv", row["student"], found.get("scores.csv", {}).get(row["student"], 0)
                + float(row["final_score"]))
    for results in (out / "students").glob("*/results.json"):
        data = json.loads(results.read_text())
        put("results.json", results.parent.name, data["score"])
        assert data["score"] == pytest.approx(sum(t["score"] for t in data["tests"]))  # the penalty is a test
    for report in (out / "students").glob("*/report.html"):
        total = re.search(r"Total: ([\d.]+) / 10", _text(report.read_text()))
        put("report.html", report.parent.name, float(total.group(1)))
    index = _text((out / "index.html").read_text())
    for student in found["scores.csv"]:
        put("index.html", student, float(re.search(rf"{student} ([\d.]+) / 10", index).group(1)))
    canvas = export(out, "canvas", title="HW")
    for row in canvas.rows[2:]:
        put("canvas", row[3], float(row[5]))
    moodle = export(out, "moodle", title="HW")
    for row in moodle.rows[1:]:
        put("moodle", row[0], float(row[1]))
    assert set(found) == {"scores.csv", "results.json", "report.html", "index.html", "canvas", "moodle"}
    assert all(set(grades) == set(found["scores.csv"]) for grades in found.values()), found
    return found


def graded_in_last_run(out: Path) -> int:
    with sqlite3.connect(out / "gradebook.sqlite") as db:
        return db.execute("SELECT graded FROM runs ORDER BY id DESC LIMIT 1").fetchone()[0]


def _grade(capsys, *args: str) -> str:
    code = cli.main(["grade", *args, "--problems", PROBLEM, "--quiet"])
    printed = capsys.readouterr()
    assert code == 0, printed.err
    return printed.out + printed.err


def test_policy_extension_and_slip_days_in_every_output_with_no_regrade(tmp_path, capsys):
    hw = _assignment(tmp_path)
    download = tmp_path / "download"
    download.mkdir()
    for name, sample in DOWNLOAD.items():
        shutil.copy(SAMPLES / sample / "solution.py", download / name)
    times = tmp_path / "times.csv"
    times.write_text("student,submitted_at\n103,2026-10-18T03:00:00-04:00\n")  # 2 days 3 h 1 min late
    course = tmp_path / "course.yaml"
    course.write_text("slip_days: 1\nassignments:\n  - {path: hw, out: out}\n")
    out = tmp_path / "out"
    run = [str(download), "--assignment", str(hw), "--out", str(out), "--course", str(course)]

    said = _grade(capsys, *run, "--times", str(times))
    assert "Late policy: 2 late submission(s)" in said
    # 101: marked LATE, no time: one day late, covered by its slip day; 102 on time; 103: 3 started days past the
    # grace period, one covered by the slip day, 2 x 10% off
    expected = {"101": 10.0, "102": 1.0, "103": 8.0}
    assert all(got == expected for got in finals(out).values()), finals(out)
    rows = {r["student"]: r for r in csv.DictReader(open(out / "scores.csv"))}
    assert (rows["103"]["score"], rows["103"]["late_penalty"], rows["103"]["final_score"]) == ("10", "2", "8")
    assert (rows["103"]["time_source"], rows["103"]["late_by"], rows["103"]["slip_days_used"]) == \
        ("times.csv", "2 days 3 h 1 min", "1")
    assert (rows["101"]["time_source"], rows["101"]["late_by"], rows["101"]["slip_days_used"]) == \
        ("canvas", "unknown", "1")
    assert rows["102"]["late_by"] == "" and rows["102"]["penalty_percent"] == "0"
    late = json.loads((out / "students/103/results.json").read_text())
    line = late["tests"][-1]
    assert line["name"] == "Late penalty" and line["score"] == -2.0 and line["max_score"] == 0
    assert "Late by 2 days 3 h 1 min" in line["output"] and "1 slip day spent (0 left)" in line["output"]
    assert "times file" in line["output"] and late["extra_data"]["raw_score"] == 10
    covered = json.loads((out / "students/101/results.json").read_text())["tests"][-1]
    assert covered["name"] == "Late penalty" and covered["score"] == 0 and "no time" in covered["output"]
    assert "Late penalty" not in (out / "students/102/results.json").read_text()
    report = _text((out / "students/103/report.html").read_text())
    for phrase in ("Due date and late penalty", "Submitted 2026-10-18 03:00", "Time from times file",
                   "Late by 2 days 3 h 1 min", "Slip days spent 1 (0 left in the course)",
                   "Penalty 20% of the points earned: −2 (10 → 8)", "10 earned, less the late penalty of 2"):
        assert phrase in report, phrase
    assert "Canvas marks this submission late but gives no time" in _text(
        (out / "students/101/report.html").read_text())
    recorded = {r["student"]: r for r in csv.DictReader(open(out / "submission-times.csv"))}
    assert recorded["101"]["source"] == "canvas" and recorded["101"]["canvas_late"] == "yes"
    assert recorded["103"]["source"] == "times.csv" and recorded["103"]["where"] == f"{times}:2"
    moodle = export(out, "moodle", title="HW")
    assert "late by 2 days 3 h 1 min, 1 slip day spent: late penalty 20% (-2)" in moodle.rows[3][2]

    # the policy changes: 25% a day (capped at 50%); nothing is regraded
    (hw / "assignment.yaml").write_text((hw / "assignment.yaml").read_text().replace("percent: 10", "percent: 25"))
    _grade(capsys, *run)  # no --times: the times recorded by the first run are kept
    assert graded_in_last_run(out) == 0
    assert all(got == {"101": 10.0, "102": 1.0, "103": 5.0} for got in finals(out).values()), finals(out)

    # an extension for 103 (OUT/extensions.csv, read like manual-grades.csv): on time, its slip day kept
    (out / "extensions.csv").write_text("student,days,reason\n103,3,illness\n")
    _grade(capsys, *run)
    assert graded_in_last_run(out) == 0
    assert all(got == {"101": 10.0, "102": 1.0, "103": 10.0} for got in finals(out).values()), finals(out)
    rows = {r["student"]: r for r in csv.DictReader(open(out / "scores.csv"))}
    assert rows["103"]["slip_days_used"] == "0" and rows["103"]["due"] == "2026-10-18T23:59:00-04:00"
    assert "extended by 3 days (illness)" in _text((out / "students/103/report.html").read_text())

    # a time changes: 102 submitted 8 days late, past zero_after_days even with its slip day (which it keeps)
    times.write_text("student,submitted_at\n103,2026-10-18T03:00:00-04:00\n102,2026-10-24T00:00:00-04:00\n")
    _grade(capsys, *run, "--times", str(times))
    assert graded_in_last_run(out) == 0
    assert all(got == {"101": 10.0, "102": 0.0, "103": 10.0} for got in finals(out).values()), finals(out)
    rows = {r["student"]: r for r in csv.DictReader(open(out / "scores.csv"))}
    assert (rows["102"]["penalty_percent"], rows["102"]["slip_days_used"]) == ("100", "0")


def test_bad_late_inputs_stop_before_grading(tmp_path, capsys):
    hw = _assignment(tmp_path)
    subs = tmp_path / "subs"
    shutil.copytree(SAMPLES / "softmax-sign", subs / "alice")
    times = tmp_path / "times.csv"
    times.write_text("student,submitted_at\nalice,last tuesday\n")
    code = cli.main(["grade", str(subs), "--assignment", str(hw), "--out", str(tmp_path / "out"), "--times", str(times),
                     "--problems", PROBLEM])
    err = capsys.readouterr().err
    assert code == 2 and f"{times}:2: submitted_at for alice: 'last tuesday' is not a date and time" in err
    assert "Traceback" not in err and not (tmp_path / "out" / "gradebook.sqlite").exists()


def test_without_a_policy_nothing_changes(tmp_path, capsys):
    subs = tmp_path / "subs"
    shutil.copytree(SAMPLES / "softmax-sign", subs / "alice")
    times = tmp_path / "times.csv"
    times.write_text("student,submitted_at\nalice,2026-10-30T00:00:00Z\n")
    said = _grade(capsys, str(subs), "--assignment", str(BACKPROP), "--out", str(tmp_path / "out"),
                  "--times", str(times))
    assert "has no late: policy" in said
    assert (tmp_path / "out/scores.csv").read_text().splitlines()[0] == \
        "student,problem,score,max_score,passed,failed,errors,pending"
    assert not (tmp_path / "out/submission-times.csv").exists()
    assert "Late penalty" not in (tmp_path / "out/students/alice/results.json").read_text()
    assert "late penalty" not in (tmp_path / "out/students/alice/report.html").read_text().lower()


def test_gradescope_mode_takes_its_time_and_extension_from_the_metadata(tmp_path, capsys):
    hw = _assignment(tmp_path, LATE.replace("  slip_days: true\n", ""))
    upload = tmp_path / "submission"
    shutil.copytree(SAMPLES / "correct-numpy", upload)
    shutil.copy(FIXTURES / "submission_metadata.json", tmp_path / "submission_metadata.json")
    results = tmp_path / "results" / "results.json"
    code = cli.main(["gradescope", "--submission", str(upload), "--results", str(results), "--assignment", str(hw),
                     "--problems", PROBLEM])
    printed = capsys.readouterr()
    assert code == 0, printed.err
    data = json.loads(results.read_text())
    # created 2026-10-17 02:10 EDT; Gradescope moved this student's due date a day, to 2026-10-16 23:59: 2 h 11 min
    # late, past the 15 minutes' grace: one started day, 10% off
    assert data["score"] == pytest.approx(9.0)
    assert data["score"] == pytest.approx(sum(t["score"] for t in data["tests"]))
    line = data["tests"][-1]
    assert line["name"] == "Late penalty" and line["score"] == pytest.approx(-1.0)
    assert "Late by 2 h 11 min" in line["output"] and "Gradescope" in line["output"]
    assert "extended to 2026-10-16 23:59 -04:00 (given in Gradescope)" in line["output"]
    (tmp_path / "submission_metadata.json").unlink()
    code = cli.main(["gradescope", "--submission", str(upload), "--results", str(results), "--assignment", str(hw),
                     "--problems", PROBLEM])
    printed = capsys.readouterr()
    assert code == 0 and "submission time is unknown: no late penalty applied" in printed.err
    assert json.loads(results.read_text())["score"] == pytest.approx(10.0)


def test_a_zero_spends_no_slip_days_and_grace_is_on_time_in_every_output(tmp_path, capsys):
    """An empty folder 1 day 8 h late keeps its slip days (in grade --course and in grader course alike), a
    submission 14 min 30 s after the due time is on time everywhere, and a student late by as much as the empty
    folder spends two."""
    hw = _assignment(tmp_path)
    subs = tmp_path / "subs"
    (subs / "empty").mkdir(parents=True)
    for student in ("grace", "late"):
        shutil.copytree(SAMPLES / "correct-numpy", subs / student)
    times = tmp_path / "times.csv"
    times.write_text("student,submitted_at\nempty,2026-10-17T07:59:00-04:00\nlate,2026-10-17T07:59:00-04:00\n"
                     "grace,2026-10-16T00:13:30-04:00\n")
    course = tmp_path / "course.yaml"
    course.write_text("slip_days: 3\nassignments:\n  - {path: hw, out: out}\n")
    out = tmp_path / "out"
    _grade(capsys, str(subs), "--assignment", str(hw), "--out", str(out), "--course", str(course),
           "--times", str(times))
    rows = {r["student"]: r for r in csv.DictReader(open(out / "scores.csv"))}
    assert (rows["empty"]["score"], rows["empty"]["slip_days_used"], rows["empty"]["late_by"]) == \
        ("0", "0", "1 day 8 h")
    assert (rows["late"]["slip_days_used"], rows["late"]["penalty_percent"]) == ("2", "0")
    assert rows["grace"]["late_by"] == "on time (within the grace period, 14 min 30 s after the due time)"
    empty = _text((out / "students/empty/report.html").read_text())
    assert "no slip days spent: the submission scores 0" in empty
    assert "Slip days spent 0 (3 left in the course)" in empty
    assert json.loads((out / "students/empty/results.json").read_text())["tests"][-1]["extra_data"][
        "slip_days_used"] == 0
    grace = _text((out / "students/grace/report.html").read_text())
    assert "On time (within the grace period): submitted 2026-10-16 00:13:30 -04:00" in grace
    assert "Timing on time (within the grace period, 14 min 30 s after the due time)" in grace
    assert "late by" not in grace.lower()
    feedback = {row[0]: row[2] for row in export(out, "moodle", title="HW").rows[1:]}
    assert feedback["grace"].endswith("on time (within the grace period, 14 min 30 s after the due time)")
    assert "late by" not in feedback["grace"]
    # grader course counts the same: the empty folder spent none, and scores.csv is not stale
    assert cli.main(["course", str(course), "--out", "-"]) == 0
    printed = capsys.readouterr()
    table = {line.split()[0]: line.split()[1:] for line in printed.out.splitlines()[2:] if line.strip()}
    assert table["empty"] == ["0", "0", "3"] and table["late"] == ["2", "2", "1"], printed.out
    assert "written with other slip days" not in printed.err


@pytest.mark.parametrize("name, text, said", [
    ("extensions.csv", "student,days\nalice,1e308\n", "extensions.csv:2: alice: days '1e308' is too many"),
    ("extensions.csv", "student,days\nalice,1000000000\n", "extensions.csv:2: alice: days '1000000000' is too many"),
    ("times.csv", "student,submitted_at\nalice,9999-12-31T23:59:00Z\n",
     "times.csv:2: submitted_at for alice: 9999-12-31T23:59:00Z is out of range"),
    ("times.csv", "student,submitted_at\nalice,0001-01-01T00:00:00+01:00\n",
     "times.csv:2: submitted_at for alice: 0001-01-01T00:00:00+01:00 is out of range"),
])
def test_out_of_range_inputs_exit_2_with_their_row(tmp_path, capsys, name, text, said):
    hw = _assignment(tmp_path)
    subs = tmp_path / "subs"
    shutil.copytree(SAMPLES / "softmax-sign", subs / "alice")
    given = tmp_path / name
    given.write_text(text)
    flag = "--extensions" if name == "extensions.csv" else "--times"
    code = cli.main(["grade", str(subs), "--assignment", str(hw), "--out", str(tmp_path / "out"), flag, str(given),
                     "--problems", PROBLEM])
    err = capsys.readouterr().err
    assert code == 2 and said in err and "Traceback" not in err
    # a due time that far away is the assignment's own error
    (hw / "assignment.yaml").write_text((hw / "assignment.yaml").read_text().replace(
        "2026-10-15T23:59:00-04:00", "9999-12-31T23:59:00-04:00"))
    code = cli.main(["grade", str(subs), "--assignment", str(hw), "--out", str(tmp_path / "out"), "--problems",
                     PROBLEM])
    err = capsys.readouterr().err
    assert code == 2 and "late.due: 9999-12-31T23:59:00-04:00 is out of range" in err and "Traceback" not in err
