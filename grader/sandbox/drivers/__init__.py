"""Grader-supplied routines that run inside the sandbox and drive the student's code.

Each module defines ``run(namespace, *args, tick)``: ``namespace`` is the student's module dictionary,
``args`` the case's inputs, and ``tick()`` sends a progress event that the grader timestamps with its
own clock. ``run`` returns plain data (numbers, lists, dicts, numpy arrays). A driver is copied into the
job folder and runs in the student's process, so nothing it returns is trusted beyond being data: the
grader re-checks every claim it can on its own side.
"""
