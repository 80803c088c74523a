"""Checks, registered by name; a problem spec names the checks it runs."""
from grader.checks.base import CHECKS

__all__ = ["CHECKS"]
