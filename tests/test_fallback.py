"""Without bubblewrap the grader still grades, in a limited child process, and says isolation is reduced."""

from __future__ import annotations

import pytest

from conftest import ASSIGNMENT, SUBMISSIONS
from grader import cli
from grader.api import check_submission
from grader.models import Status

pytestmark = pytest.mark.usefixtures("process_mode")


def test_process_sandbox_grades_correctly():
    result = check_submission(SUBMISSIONS / "correct-numpy", ASSIGNMENT, sandbox="process")
    assert result.score == result.max_score == 40  # regularized-ae's training runs in a plain process too


def test_process_sandbox_reports_failures_as_data():
    result = check_submission(SUBMISSIONS / "raises-exception", ASSIGNMENT, sandbox="process",
                              problems=["linear-ae-gradients"])
    assert result.score == 0
    assert {c.status for c in result.problems[0].checks} == {Status.ERROR}


def test_cli_warns_about_reduced_isolation(capsys):
    code = cli.main(["check", str(SUBMISSIONS / "correct-numpy"), "--assignment", str(ASSIGNMENT),
                     "--sandbox", "process"])
    assert code == 0
    assert "reduced isolation" in capsys.readouterr().err
