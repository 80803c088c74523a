"""Where an exception raised in an author's code (a kit, a reference solution) comes from: ``file:line``.

An author's bug is reported with the place in their own file, never as a bare traceback through the grader.
"""

from __future__ import annotations

from pathlib import Path


def where(exc: BaseException, inside: Path | str | None = None) -> str:
    """``file:line: `` of the innermost frame of ``exc`` in a file under ``inside`` (any file but the grader's
    own, by default), or of the file a SyntaxError names; ``""`` when there is none."""
    if isinstance(exc, SyntaxError) and exc.filename and exc.lineno:
        return f"{exc.filename}:{exc.lineno}: "
    engine = str(Path(__file__).resolve().parent)
    root = str(Path(inside).resolve()) if inside is not None else None
    found = ""
    tb = exc.__traceback__
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if (root is not None and filename.startswith(root)) or \
                (root is None and not filename.startswith(engine) and not filename.startswith("<")):
            found = f"{filename}:{tb.tb_lineno}: "
        tb = tb.tb_next
    return found
