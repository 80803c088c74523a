"""Checks, registered by name; a problem spec names the checks it runs.

Importing this package registers every built-in check.
"""

from grader.checks import allclose, equals, finite_difference, subspace, tokens  # noqa: F401  (registration)
from grader.checks import training  # noqa: F401,E402  (registration)
from grader.checks.base import ACROSS_CASES, CHECKS, AnswerError, CaseData, NotGraded, Verdict

__all__ = ["ACROSS_CASES", "CHECKS", "AnswerError", "CaseData", "NotGraded", "Verdict"]
