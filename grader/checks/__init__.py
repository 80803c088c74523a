"""Checks, registered by name; a problem spec names the checks it runs.

Importing this package registers every built-in check.
"""

from grader.checks import allclose, finite_difference  # noqa: F401  (registration)
from grader.checks.base import CHECKS, AnswerError, CaseData, Verdict

__all__ = ["CHECKS", "AnswerError", "CaseData", "Verdict"]
