"""Mutation testing of an assignment's cases (``grader validate --mutants``).

Wrong variants of each reference solution (``operators``: AST mutations; ``slips``: the wrong answers of the
slips a problem names) must lose points, and valid ones (``rewrites``: float32, lists, torch tensors, a kit's
own) must keep full marks. ``run`` grades them all like a student's submission and says which mutants
survived; ``marks`` reads what a spec says about them (``mutants:``), ``report`` words the outcome.
"""
