"""Where an exception raised in an author's code (a kit, a reference solution) comes from: ``file:line``.

An author's bug is reported with the place in their own file, never as a bare traceback through the grader.
"""

from __future__ import annotations

import sysconfig
from pathlib import Path

#: code that is nobody's author here: the grader itself, the standard library, installed packages
_NOT_AUTHORED = tuple(str(Path(p).resolve()) for p in {str(Path(__file__).resolve().parent),
                                                       *(sysconfig.get_paths()[k] for k in ("stdlib", "platstdlib",
                                                                                             "purelib", "platlib"))})


def where(exc: BaseException, inside: Path | str | None = None) -> str:
    """``file:line: `` of the innermost frame of ``exc`` in a file under ``inside`` (by default any file but the
    grader's own, the standard library's and installed packages'), or of the file a SyntaxError names; ``""``
    when there is none."""
    if isinstance(exc, SyntaxError) and exc.filename and exc.lineno:
        return f"{exc.filename}:{exc.lineno}: "
    root = str(Path(inside).resolve()) if inside is not None else None
    found = ""
    tb = exc.__traceback__
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if (root is not None and filename.startswith(root)) or \
                (root is None and not filename.startswith(_NOT_AUTHORED) and not filename.startswith("<")):
            found = f"{filename}:{tb.tb_lineno}: "
        tb = tb.tb_next
    return found
