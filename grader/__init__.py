"""grader: sandboxed, explainable grading of deep-learning homework."""

__version__ = "0.1.0"
