"""Manual grades for free-text answers: export what awaits grading, merge what the staff graded.

``grader grade`` writes ``OUT/free-text.csv`` (student, problem, question, points, comment, answer) with
the points left empty. Staff fill in points and comments and save the file as ``OUT/manual-grades.csv``
(or pass it with ``--manual``); the next ``grade`` run merges it. Extra columns are ignored.

``free-text.csv`` is written through :func:`grader.output.inert_csv.writer`, so an answer that a spreadsheet
would run as a formula (``=HYPERLINK(...)``) is shown as ``'=HYPERLINK(...)``. The answer column is never read
back: a graded answer is the one stored in the gradebook, so the quote, or a spreadsheet dropping it or
anything else staff change in that column, cannot alter it. The key columns (student id, problem and
question ids) start with a letter or a digit, so they are never quoted and still match.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from pathlib import Path

from grader.answers.questions import PENDING_PREFIX
from grader.models import Assignment, Status, SubmissionResult
from grader.output import inert_csv

COLUMNS = ["student", "problem", "question", "points", "comment", "answer"]


@dataclass(frozen=True)
class ManualGrade:
    points: float
    comment: str


@dataclass
class ManualGrades:
    grades: dict[tuple[str, str, str], ManualGrade] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def read_manual(path: Path, assignment: Assignment, students: set[str] | None = None) -> ManualGrades:
    """Rows with empty points are skipped (still pending); every other problem is a warning naming the row."""
    out = ManualGrades()
    questions = {(p.id, q.id): q for p in assignment.problems for q in p.questions}
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            missing = {"student", "problem", "question", "points"} - set(reader.fieldnames or [])
            if missing:
                out.warnings.append(f"{path}: missing column(s) {', '.join(sorted(missing))}; file ignored")
                return out
            for row in reader:
                where = f"{path}:{reader.line_num}"
                key = (row["student"] or "").strip(), (row["problem"] or "").strip(), (row["question"] or "").strip()
                text = (row["points"] or "").strip()
                if not text:
                    continue
                question = questions.get(key[1:])
                if students is not None and key[0] not in students:
                    out.warnings.append(f"{where}: no submission for student '{key[0]}'; row ignored")
                    continue
                if question is None:
                    out.warnings.append(f"{where}: no question '{key[2]}' in problem '{key[1]}'; row ignored")
                    continue
                try:
                    points = float(text)
                except ValueError:
                    points = math.nan
                if not (0 <= points <= question.points):
                    out.warnings.append(f"{where}: points {text!r} must be a number from 0 to {question.points:g}; "
                                        "row ignored")
                    continue
                if key in out.grades:
                    out.warnings.append(f"{where}: a second grade for {'/'.join(key)}; the later row wins")
                out.grades[key] = ManualGrade(points, (row.get("comment") or "").strip())
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        out.warnings.append(f"{path}: cannot be read ({exc}); no manual grades merged")
    return out


def apply_manual(result: SubmissionResult, grades: ManualGrades) -> None:
    for problem in result.problems:
        for c in problem.checks:
            grade = grades.grades.get((result.student, c.problem, c.check))
            if grade is None or c.kind != "question" or c.status is not Status.PENDING:
                continue
            answer = c.feedback.removeprefix(PENDING_PREFIX)
            c.score = grade.points
            c.status = Status.PASSED if grade.points >= c.max_score else Status.FAILED
            c.diagnosis = "manual"
            c.feedback = f"graded by hand: {grade.points:g} / {c.max_score:g}" + (
                f". {grade.comment}" if grade.comment else "") + f"\nYour answer: {answer}"


def write_free_text(results: list[SubmissionResult], path: Path) -> int:
    """Every free-text answer still awaiting a grade, ready for staff to fill in (inert in a spreadsheet);
    returns the count."""
    rows = []
    for result in results:
        for problem in result.problems:
            for c in problem.checks:
                if c.kind == "question" and c.status is Status.PENDING:
                    rows.append([result.student, c.problem, c.check, "", "", c.feedback.removeprefix(PENDING_PREFIX)])
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = inert_csv.writer(fh)
        writer.writerow(COLUMNS)
        writer.writerows(rows)
    return len(rows)
