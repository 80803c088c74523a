"""Problem specs: YAML files validated into :mod:`grader.models` objects."""

from grader.spec.errors import SpecError, SpecIssue
from grader.spec.loader import load_assignment

__all__ = ["SpecError", "SpecIssue", "load_assignment"]
