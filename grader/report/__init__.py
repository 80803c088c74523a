"""HTML reports: one page per student and a class summary, rendered from Jinja2 templates.

- ``OUT/students/<id>/report.html``: the student's scores, every check grouped by check with its
  feedback and diagnosis, an excerpt of the printed output, and the written answers awaiting a grade.
- ``OUT/index.html``: score histograms, mean and median, pass rate per check, the most frequent
  diagnosed mistakes, the submissions that errored, timed out, hit a limit or crashed, and links to
  every student's report.

The pages are self-contained (inline CSS and SVG, no script, no network asset), responsive and printable.
"""

from __future__ import annotations

from pathlib import Path

from grader.models import Assignment, SubmissionResult
from grader.report.render import render, write_page
from grader.report.student import student_view
from grader.report.summary import class_view

INDEX = "index.html"
REPORT = "report.html"


def student_report_path(out_dir: Path, student: str) -> Path:
    return Path(out_dir) / "students" / student / REPORT


def write_student_report(result: SubmissionResult, out_dir: Path, assignment: Assignment | str, *,
                         public_only: bool = False, index_link: bool = False) -> Path:
    """Write ``OUT/students/<id>/report.html`` for one student and return its path.

    ``public_only`` marks a self-check (``grader check``); ``index_link`` adds a link back to the class
    summary (a batch run).
    """
    title = assignment if isinstance(assignment, str) else assignment.title
    view = student_view(result, title, public_only=public_only)
    return write_page(student_report_path(out_dir, result.student),
                      render("student.html", view=view, index_link=index_link))


def write_reports(results: list[SubmissionResult], out_dir: Path, assignment: Assignment | str) -> Path:
    """Write every student's report and the class summary ``OUT/index.html``; return the index's path."""
    title = assignment if isinstance(assignment, str) else assignment.title
    for result in results:
        write_student_report(result, out_dir, title, index_link=True)
    return write_page(Path(out_dir) / INDEX, render("index.html", view=class_view(results, title)))


__all__ = ["INDEX", "REPORT", "student_report_path", "write_reports", "write_student_report"]
