"""Progress: a live bar on a terminal, plain lines otherwise, nothing with --quiet."""

from __future__ import annotations

import io

from grader.models import CheckResult, ProblemResult, Status, SubmissionResult, Visibility
from grader.output.progress import Progress


def _result(student: str, status: Status) -> SubmissionResult:
    check = CheckResult("p", "c", "case", Visibility.PUBLIC, status, 1.0 if status is Status.PASSED else 0.0, 1.0)
    return SubmissionResult(student, [ProblemResult("p", "P", [check])])


def test_plain_lines_count_errors_timeouts_and_limits():
    out = io.StringIO()
    progress = Progress(out, tty=False)
    progress.start(4)
    for i, status in enumerate((Status.PASSED, Status.ERROR, Status.TIMEOUT, Status.MEMORY)):
        progress.update(_result(f"s{i}", status))
    text = out.getvalue()
    assert "progress: grading 4 submission(s)" in text
    assert "4/4 graded" in text and "1 with errors, 1 timed out, 1 hit a limit or crashed" in text
    assert "\r" not in text
    assert all(f"s{i}" in text for i in range(4))


def test_terminal_bar_redraws_in_place():
    out = io.StringIO()
    progress = Progress(out, tty=True)
    progress.start(2)
    progress.update(_result("alice", Status.PASSED))
    progress.update(_result("bob", Status.CRASHED))
    progress.finish()
    text = out.getvalue()
    assert text.count("\r[") >= 3 and "[########################]" in text and "2/2 graded" in text
    assert "alice" in text and "bob" in text


def test_quiet_prints_nothing():
    out = io.StringIO()
    progress = Progress(out, quiet=True, tty=True)
    progress.start(1)
    progress.update(_result("alice", Status.PASSED))
    progress.finish()
    assert out.getvalue() == ""
    assert progress.done == 1
