"""An assignment's sample submissions and the outcomes they must come to: the author's regression suite.

An assignment folder may keep ``samples/``, a folder of student folders graded like any batch, and
``samples.yaml`` beside it, saying what each sample must earn, per problem. ``grader validate`` grades
the samples and reports every difference; the repository's tests hold every assignment's samples to it.

``samples.yaml``::

    outcomes:                      # optional: named outcomes, used by name below
      not-attempted: {status: error, feedback: "defines no function"}
    samples:                       # required: one entry per folder in samples/, and no others
      correct: {}                  # full marks on every code check; written answers right
      one-slip:
        problems:                  # problem id -> outcome; a problem not listed earns full marks
          sorting: {lose: [matches-reference], diagnosis: off_by_one}
          hashing: not-attempted
      hashing-only:
        problems: {hashing: full-marks}
        others: not-attempted      # every problem with code checks not listed under problems:
      edge-case:
        problems:
          sorting: {cases: [empty-list], feedback: "IndexError"}
        others: not-attempted
        answers: {status: error, feedback: "no answers.yaml"}

A sample's ``problems`` maps problem ids to outcomes; ``others`` is the outcome of every problem with
code checks that ``problems`` does not list (default: ``full-marks``, the built-in outcome of a problem
whose code checks all pass with their full points).

An outcome (a mapping, or the name of one in ``outcomes``) says which results of a problem's code checks
lose points (are not ``passed``); every other result must pass with its full points:

``status``
    the status of every result that loses points: failed (default), error, timeout, memory or crashed.
``lose``
    the checks that lose points, and no others (on some of their cases, at least one). The first one
    names ``diagnosis`` on every result it loses. Without ``lose`` (and ``cases``), every result of the
    problem loses all its points.
``cases``
    the case groups (case ids as written in the problem's spec) on which points are lost: every result
    of the ``lose`` checks (of every check, without ``lose``) on these groups scores 0, and no other
    result loses points.
``diagnosis``
    the diagnosis named on every lost result of the first ``lose`` check (of every lost result, without
    ``lose``); ``null`` asserts that none is named. Left out, diagnoses are not compared.
``feedback``
    a phrase that every lost result's feedback contains.

A sample's ``answers`` (its written answers, questions of every problem) is one of ``right`` (default:
each question passes with full points; a free-text one awaits manual grading), ``unchecked`` (asserted
elsewhere), or an outcome with ``status`` and ``feedback`` only, which every question's result meets
with 0 points (e.g. ``{status: error, feedback: "no answers.yaml"}``).
"""

from grader.samples.compare import Mismatch, SampleReport, compare, run_samples
from grader.samples.expected import (FULL_MARKS, LOSING, RIGHT, SAMPLES_DIR, SAMPLES_FILE, UNCHECKED, Outcome,
                                     ProblemShape, Sample, SampleSet, load_samples)

__all__ = ["FULL_MARKS", "LOSING", "RIGHT", "SAMPLES_DIR", "SAMPLES_FILE", "UNCHECKED", "Mismatch", "Outcome",
           "ProblemShape", "Sample", "SampleReport", "SampleSet", "compare", "load_samples", "run_samples"]
