"""HTML reports: one page per student and a class summary, rendered from Jinja2 templates.

- ``OUT/students/<id>/report.html``: the student's scores, every check grouped by check with its
  feedback and diagnosis, an excerpt of the printed output, and the written answers awaiting a grade.
- ``OUT/index.html``: score histograms, mean and median, pass rate per check, the most frequent
  diagnosed mistakes, the submissions that errored, timed out, hit a limit or crashed, and links to
  every student's report.

The engine knows no problem: what is specific to one comes from the assignment's kit as **report parts**
(:mod:`grader.report.parts`): titled sections of generic tables, line charts, histograms and cards, plain data
that the engine's templates render. ``kit.report_parts`` builders make a problem's parts in a student's
report from its :class:`~grader.models.ProblemResult` (e.g. from the ``data`` its checks attached);
``kit.summary_parts`` builders make the class summary's from ``(problem_id, results)``, each part a section
with a link in the page's navigation. A builder that fails leaves a note in its place, not a broken report.

The pages are self-contained (inline CSS and SVG, no script, no network asset), responsive and printable.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from grader.leaderboard import Board, boards as leaderboards
from grader.models import Assignment, SubmissionResult
from grader.report.render import render, write_page
from grader.report.student import student_view
from grader.report.summary import class_view

if TYPE_CHECKING:
    from grader.policy.rules import LateOutcome
    from grader.variants import Secret

INDEX = "index.html"
REPORT = "report.html"


def student_report_path(out_dir: Path, student: str) -> Path:
    return Path(out_dir) / "students" / student / REPORT


def _title_and_kit(assignment: Assignment | str):
    """The assignment's title and kit (None for a bare title: no report parts)."""
    if isinstance(assignment, str):
        return assignment, None
    return assignment.title, getattr(assignment, "kit", None)


def write_student_report(result: SubmissionResult, out_dir: Path, assignment: Assignment | str, *,
                         public_only: bool = False, index_link: bool = False,
                         late: "LateOutcome | None" = None, boards: list[Board] | None = None) -> Path:
    """Write ``OUT/students/<id>/report.html`` for one student and return its path.

    ``public_only`` marks a self-check (``grader check``); ``index_link`` adds a link back to the class
    summary (a batch run). Given an :class:`Assignment`, its kit's report parts are drawn; given only a
    title, none are. ``late`` (the student's outcome under the late policy) adds the due time, the submission
    time and the penalty, and the total is then the final score. ``boards`` (the class's leaderboards,
    :mod:`grader.leaderboard`) add the student's pseudonym and rank on each.
    """
    title, kit = _title_and_kit(assignment)
    view = student_view(result, title, public_only=public_only, kit=kit, late=late, boards=boards)
    return write_page(student_report_path(out_dir, result.student),
                      render("student.html", view=view, index_link=index_link))


def write_reports(results: list[SubmissionResult], out_dir: Path, assignment: Assignment | str,
                  late: "dict[str, LateOutcome] | None" = None, *, secret: "Secret | None" = None,
                  salt: bytes | None = None, boards: list[Board] | None = None) -> Path:
    """Write every student's report and the class summary ``OUT/index.html``; return the index's path. ``late``
    (student -> outcome, given when the assignment has a late policy) puts the penalties in both. The problems
    that declare a leaderboard get their boards (:mod:`grader.leaderboard`): in full in the index, each student's
    pseudonym and rank in their report; ``secret`` (the course secret, when there is one) keys the pseudonyms, else
    ``salt`` (the output folder's, from its gradebook), else a salt drawn for this call. ``boards``, when given, are
    those boards already made."""
    title, kit = _title_and_kit(assignment)
    if boards is None:
        boards = leaderboards(assignment, results, secret, salt) if isinstance(assignment, Assignment) else []
    for result in results:
        write_student_report(result, out_dir, assignment, index_link=True,
                             late=late.get(result.student) if late is not None else None, boards=boards)
    return write_page(Path(out_dir) / INDEX, render("index.html", view=class_view(results, title, kit, late, boards)))


__all__ = ["INDEX", "REPORT", "student_report_path", "write_reports", "write_student_report"]
