"""LMS exports: Canvas's gradebook import, Moodle's CSV grade import and the plain wide table."""

from __future__ import annotations

import csv
import io

import pytest

from grader import cli
from grader.export import ExportError, export
from grader.export.scores import number
from grader.models import CheckResult, ProblemResult, Status, SubmissionResult, Visibility
from grader.output.gradescope import write_results_json
from grader.output.scores_csv import write_scores_csv

TITLE = "HW 1"
H = Visibility.HIDDEN


def _result(student: str, p1: list[tuple[Status, float, str | None]], p2: list[tuple[Status, float, str | None]]):
    """A student with problem p1 (10 points, two checks of 5) and p2 (8 points, two questions of 4)."""
    one, two = ProblemResult("p1", "One"), ProblemResult("p2", "Two")
    for i, (status, score, diagnosis) in enumerate(p1):
        one.checks.append(CheckResult("p1", f"c{i}", "case", H, status, score, 5.0, "", diagnosis))
    for i, (status, score, diagnosis) in enumerate(p2):
        two.checks.append(CheckResult("p2", f"q{i}", None, H, status, score, 4.0, "", diagnosis, kind="question"))
    return SubmissionResult(student, [one, two])


P, F, E, W = Status.PASSED, Status.FAILED, Status.ERROR, Status.PENDING


@pytest.fixture
def out(tmp_path):
    results = [
        _result("alice", [(P, 5, None), (P, 5, None)], [(F, 1.5, "wrong_value"), (W, 0, "manual")]),
        _result("bob", [(F, 0, "sign"), (F, 0, "sign")], [(P, 4, None), (P, 4, None)]),
        _result("carol", [(E, 0, None), (E, 0, None)], [(F, 0, None), (F, 0, None)]),
    ]
    folder = tmp_path / "out"
    for r in results:
        write_results_json(r, folder / "students" / r.student / "results.json")
    write_scores_csv(results, folder / "scores.csv")
    return folder


def _roster(tmp_path, text: str):
    path = tmp_path / "roster.csv"
    path.write_text(text, encoding="utf-8")
    return path


CANVAS_ROSTER = ('\ufeffStudent,ID,SIS User ID,SIS Login ID,Section,Old Quiz (77)\n'
                 '    Points Possible,,,,,5\n'
                 '"Liddell, Alice",1,S1,ALICE,Sec A,4\n'
                 '"Builder, Bob",2,S2,bob,Sec B,5\n'
                 '"Doe, Dave",4,S4,dave,Sec A,3\n')


def test_canvas_with_roster_and_problem_columns(out, tmp_path):
    result = export(out, "canvas", title=TITLE, roster=_roster(tmp_path, CANVAS_ROSTER), per_problem=True)
    assert result.rows == [
        ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "HW 1", "HW 1: p1", "HW 1: p2"],
        ["    Points Possible", "", "", "", "", "18", "10", "8"],
        ["Liddell, Alice", "1", "S1", "ALICE", "Sec A", "11.5", "10", "1.5"],
        ["Builder, Bob", "2", "S2", "bob", "Sec B", "8", "0", "8"],
        ["Doe, Dave", "4", "S4", "dave", "Sec A", "", "", ""],  # on the roster, no submission: an empty grade
        ["carol", "", "", "carol", "", "0", "0", "0"],  # a submission not on the roster: kept, by folder name
    ]
    assert len(result.warnings) == 2
    assert "roster.csv:5 (Doe, Dave, SIS Login ID 'dave'): no submission" in result.warnings[0]
    assert "submission 'carol' is not on the roster" in result.warnings[1] and "exported under its folder name" in result.warnings[1]
    lines = result.text().splitlines()
    assert lines[1] == "    Points Possible,,,,,18,10,8" and lines[2] == '"Liddell, Alice",1,S1,ALICE,Sec A,11.5,10,1.5'


def test_canvas_without_roster_uses_folder_names_and_warns(out):
    result = export(out, "canvas", title=TITLE)
    assert result.rows == [
        ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "HW 1"],
        ["    Points Possible", "", "", "", "", "18"],
        ["alice", "", "", "alice", "", "11.5"],
        ["bob", "", "", "bob", "", "8"],
        ["carol", "", "", "carol", "", "0"],
    ]
    assert result.warnings == ["no --roster: the SIS Login ID column holds the submission folder names; the LMS "
                               "matches only the students whose folders are named so"]


MOODLE_ROSTER = ("First name,Last name,ID number,Institution,Department,Email address\n"
                 "Alice,Liddell,alice,,,alice@uni.example\n"
                 "Bob,Builder,bob,,,bob@uni.example\n"
                 "Dave,Doe,dave,,,dave@uni.example\n")


def test_moodle_with_roster(out, tmp_path):
    result = export(out, "moodle", title=TITLE, roster=_roster(tmp_path, MOODLE_ROSTER))
    assert result.rows == [
        ["Email address", "HW 1", "Feedback"],
        ["alice@uni.example", "11.5",
         "p1: 10/10; p2: 1.5/8 (slips: wrong_value; 1 written answer(s) awaiting manual grading)"],
        ["bob@uni.example", "8", "p1: 0/10 (slips: sign); p2: 8/8"],
        ["dave@uni.example", "", ""],
        ["carol", "0", "p1: 0/10 (error); p2: 0/8"],
    ]
    assert len(result.warnings) == 2
    assert "roster.csv:4 (Dave Doe, ID number 'dave'): no submission; exported with an empty grade" in result.warnings[0]
    assert "submission 'carol' is not on the roster" in result.warnings[1]


def test_moodle_without_roster(out):
    result = export(out, "moodle", title=TITLE)
    assert [row[:2] for row in result.rows] == [["Username", "HW 1"], ["alice", "11.5"], ["bob", "8"], ["carol", "0"]]
    assert "no --roster" in result.warnings[0]


def test_wide_csv(out, tmp_path):
    assert export(out, "csv", title="").rows == [
        ["student", "p1", "p2", "total", "max_score"],
        ["alice", "10", "1.5", "11.5", "18"],
        ["bob", "0", "8", "8", "18"],
        ["carol", "0", "0", "0", "18"],
    ]
    with_roster = export(out, "csv", title="", roster=_roster(tmp_path, CANVAS_ROSTER))
    assert with_roster.rows[1:] == [["alice", "10", "1.5", "11.5", "18"], ["bob", "0", "8", "8", "18"],
                                    ["dave", "", "", "", "18"], ["carol", "0", "0", "0", "18"]]
    assert len(with_roster.warnings) == 2


def test_roster_problems_are_clear(out, tmp_path):
    with pytest.raises(ExportError, match="no column to match submission folders by"):
        export(out, "canvas", title=TITLE, roster=_roster(tmp_path, "Name,Grade\nAlice,1\n"))
    with pytest.raises(ExportError, match="no column 'Login'"):
        export(out, "canvas", title=TITLE, roster=_roster(tmp_path, CANVAS_ROSTER), key="Login")
    dup = _roster(tmp_path, CANVAS_ROSTER + '"Liddell, Alice (2)",5,S5,alice,Sec A,\n')
    result = export(out, "canvas", title=TITLE, roster=dup)
    assert any("same SIS Login ID as line 3" in w for w in result.warnings)
    assert result.rows[-2][:4] == ["Liddell, Alice (2)", "5", "S5", "alice"] and result.rows[-2][5] == ""
    with pytest.raises(ExportError, match="scores.csv: no such file"):
        export(tmp_path / "nowhere", "csv", title="")


def test_numbers():
    assert [number(x) for x in (0.0, -0.0, 10.0, 1.5, 2 / 3, 1e-7)] == ["0", "0", "10", "1.5", "0.6667", "0"]


def test_export_command(out, tmp_path, capsys):
    target = tmp_path / "canvas.csv"
    code = cli.main(["export", str(out), "--format", "canvas", "--roster", str(_roster(tmp_path, CANVAS_ROSTER)),
                     "--title", TITLE, "--out", str(target)])
    printed = capsys.readouterr()
    assert code == 0 and f"Wrote {target} (4 student row(s))" in printed.out
    assert "warning: " in printed.err and "'carol' is not on the roster" in printed.err and "Doe, Dave" in printed.err
    rows = list(csv.reader(io.StringIO(target.read_text(encoding="utf-8"))))
    assert rows[0][-1] == TITLE and rows[1][0] == "    Points Possible"
    assert cli.main(["export", str(out), "--format", "csv"]) == 0  # default file in the output folder
    assert (out / "scores-wide.csv").is_file()
    code = cli.main(["export", str(tmp_path / "missing"), "--format", "csv"])
    assert code == 2 and "no such file" in capsys.readouterr().err
