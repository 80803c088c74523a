"""``grader gradescope``: grade one submission inside Gradescope's autograder container.

Gradescope puts the student's upload in ``/autograder/submission`` and reads
``/autograder/results/results.json`` when ``run_autograder`` ends (see ``gradescope/`` for the
``setup.sh`` and ``run_autograder`` it runs). All cases are graded; hidden ones are marked
``after_published`` in the results, as :mod:`grader.output.gradescope` writes them. A student's mistake
(no solution file, code that crashes) is part of the results; only the grader's own problems (a bad
spec, a failing reference) end without results, so Gradescope reports the autograder as failed. The
upload folder is Gradescope's, but what is in it is the student's: links in it are never followed and
its files are read as :mod:`grader.submission_files` reads any submission's.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from grader.models import SubmissionResult
from grader.output.gradescope import write_results_json
from grader.sandbox.isolation import Mode
from grader.session import UsageError, full_assignment, open_session
from grader.spec import load_assignment
from grader.submission_files import entry_mode
from grader.submissions import SOURCE_NAMES, Submission

SUBMISSION = Path("/autograder/submission")
RESULTS = Path("/autograder/results/results.json")
METADATA = "submission_metadata.json"  #: Gradescope's, beside the submission folder
_EXPECTED = (*SOURCE_NAMES, "answers.yaml")


def locate(upload: Path) -> tuple[Path, list[str]]:
    """The folder holding the student's files: the upload itself, or the one folder inside it that has
    them (a student who uploaded a zipped folder); with a note when it is the latter."""
    if not upload.is_dir():
        raise UsageError(f"{upload}: no such folder (expected the student's submission)")
    if any(entry_mode(upload, name) is not None for name in _EXPECTED):  # a link too: refused when read
        return upload, []
    with os.scandir(upload) as it:  # a linked folder is never followed
        folders = sorted(Path(e.path) for e in it if e.is_dir(follow_symlinks=False))
    inner = [p for p in folders if not p.name.startswith((".", "__MACOSX"))
             and any(entry_mode(p, name) is not None for name in _EXPECTED)]
    if len(inner) == 1:
        return inner[0], [f"graded the files in {inner[0].name}/ of your upload"]
    return upload, []


def student_id(upload: Path) -> str:
    """Who submitted, from Gradescope's submission_metadata.json when present (for extra_data only)."""
    try:
        users = json.loads((upload.parent / METADATA).read_text(encoding="utf-8")).get("users") or []
        return str(users[0].get("email") or users[0].get("name") or "submission")
    except (OSError, ValueError, AttributeError, IndexError, TypeError):
        return "submission"


def run_gradescope(upload: Path = SUBMISSION, results: Path = RESULTS, assignment_dir: Path = Path("."), *,
                   problems: list[str] | None = None, sandbox: Mode = "auto") -> SubmissionResult:
    """Grade ``upload`` on every case of the assignment and write Gradescope's ``results.json``."""
    assignment = full_assignment(load_assignment(assignment_dir))
    upload, results = Path(upload), Path(results)
    with open_session(assignment, problems, sandbox=sandbox, secrets=(results.parent.resolve(),)) as session:
        folder, notes = locate(upload)
        session.prepare()  # a failing reference stops here, before any results are written
        result = session.grade(Submission(student_id(upload), folder))
    result.notes[:0] = notes
    write_results_json(result, results)
    return result
