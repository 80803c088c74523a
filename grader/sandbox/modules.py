"""A kit's sandbox modules, copied into the folder a sandbox loads them from (``drivers/`` of its job or tools).

A kit (``grader.kit``) declares them by name: drivers, which run in the student's process and drive their
code (``run(namespace, *args, tick)``), builders of objects handed to the student's code (``build(spec)``),
and helpers (names starting with ``_``) that those load from their own folder. They run beside the
student's code, so nothing they return is trusted beyond being data.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Mapping

NAME = re.compile(r"^_?[a-z][a-z0-9_]*$")


def copy_modules(folder: Path, modules: Mapping[str, Path]) -> None:
    """Copy each module to ``folder/<name>.py`` (``folder`` is created)."""
    folder.mkdir()
    for name, path in modules.items():
        if not NAME.match(name):
            raise ValueError(f"bad sandbox module name {name!r}")
        shutil.copyfile(path, folder / f"{name}.py")
