"""Deadlines, the late policy, extensions and slip days, applied when the outputs are written.

A late penalty is never stored in the gradebook: the raw results stay as graded, and every ``grade`` run (like
the manual grades) works out each student's final grade from them and the current policy, extensions and
submission times. So changing any of those and running ``grade`` again re-applies them without regrading.

- :mod:`grader.policy.rules`: the ``late:`` policy of assignment.yaml (typed) and the arithmetic of lateness:
  grace, a penalty per started day or hour with a cap, zero after N days, slip days spent;
- :mod:`grader.policy.times`: submission times and where each came from (``times.csv``, Gradescope's metadata,
  the Canvas download's LATE flag), and ``OUT/submission-times.csv``, the record of what a run applied;
- :mod:`grader.policy.extensions`: per-student extensions (``extensions.csv``);
- :mod:`grader.policy.course`: ``course.yaml`` and the slip days each student spends across a course;
- :mod:`grader.policy.batch`: all of it for one ``grade`` run.

This file imports nothing: :mod:`grader.spec.schema` imports the policy's model, and the course module loads
assignments through :mod:`grader.spec`.
"""
