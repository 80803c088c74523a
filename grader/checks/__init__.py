"""The engine's checks, registered by name; a problem spec names the checks it runs. An assignment's kit
(grader/kit.py) adds its own. Importing this package registers every built-in check.
"""

from grader.checks import allclose, equals, finite_difference, subspace  # noqa: F401  (registration)
from grader.checks.base import ACROSS_CASES, CHECKS, AnswerError, CaseData, NotGraded, Verdict

__all__ = ["ACROSS_CASES", "CHECKS", "AnswerError", "CaseData", "NotGraded", "Verdict"]
