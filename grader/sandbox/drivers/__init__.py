"""Grader-supplied routines that run inside the sandbox and drive the student's code.

Each module defines ``run(namespace, *args, tick)``: ``namespace`` is the student's module dictionary,
``args`` the case's inputs, and ``tick()`` sends a progress event that the grader timestamps with its
own clock. ``run`` returns plain data (numbers, lists, dicts, numpy arrays). A driver is copied into the
job folder and runs in the student's process, so nothing it returns is trusted beyond being data: the
grader re-checks every claim it can on its own side. A module whose name starts with ``_`` is a driver's
helper, loaded by the driver from its own folder (specs cannot name it: driver names start with a letter).
"""

import shutil
from importlib import resources
from pathlib import Path


def copy_drivers(folder: Path) -> None:
    """Copy every driver and helper module into ``folder`` (created), for a sandbox to load from."""
    folder.mkdir()
    for entry in resources.files(__name__).iterdir():
        if entry.name.endswith(".py") and entry.name != "__init__.py":
            shutil.copyfile(entry, folder / entry.name)
