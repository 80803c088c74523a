"""``grader gradescope``: grade one submission inside Gradescope's autograder container.

Gradescope puts the student's upload in ``/autograder/submission`` and reads
``/autograder/results/results.json`` when ``run_autograder`` ends (see ``gradescope/`` for the
``setup.sh`` and ``run_autograder`` it runs). All cases are graded; hidden ones are marked
``after_published`` in the results, as :mod:`grader.output.gradescope` writes them. A student's mistake
(no solution file, code that crashes) is part of the results; only the grader's own problems (a bad
spec, a failing reference) end without results, so Gradescope reports the autograder as failed. The
upload folder is Gradescope's, but what is in it is the student's: links in it are never followed and
its files are read as :mod:`grader.submission_files` reads any submission's.

With a late policy (``late:`` in assignment.yaml), the submission time is ``created_at`` of Gradescope's
``submission_metadata.json`` (beside the submission folder), and an extension given in Gradescope (the student's
own ``users[0].assignment.due_date`` later than the assignment's ``due_date``) moves the policy's due time by as
much. The penalty is a test line of its own and the score is the final one. Slip days are counted across a course
by ``grader course``, outside Gradescope: none are spent here.

Per-student cases and questions (grader/variants.py) need the course secret (``--secret FILE`` or
``GRADER_SECRET_FILE``, shipped in the autograder beside the assignment folder, never inside it), and the student's
id: the ``sid`` (Gradescope's Student ID, as the course roster has it) of ``users[0]`` in submission_metadata.json
when it is a valid student id, else their ``email``; an email (or, without one, a sid) with characters outside the
id's (``o'brien@x.edu``, ``josé@x.edu``) is mapped to one by :func:`grader.variants.safe_id`. A release for a roster
(``grader release --roster``) must use the same ids; given that roster (``roster``), an id not on it is a warning.
"""

from __future__ import annotations

import json
import os
from datetime import timedelta
from pathlib import Path
from typing import Callable

from grader.models import SubmissionResult
from grader.output.gradescope import write_results_json
from grader.policy.errors import PolicyError
from grader.policy.extensions import Extension
from grader.policy.rules import LatePolicy, LateOutcome, assess
from grader.policy.times import read_gradescope_submission, shown_time
from grader.sandbox.isolation import Mode
from grader.session import UsageError, full_assignment, open_session
from grader.spec import load_assignment
from grader.submission_files import entry_mode
from grader.submissions import SOURCE_NAMES, STUDENT_ID, Submission
from grader.variants import SecretError, load_secret, needing_secret, roster_warnings, safe_id

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


def variant_id(upload: Path) -> str | None:
    """The student id per-student cases derive from: ``users[0].sid`` of Gradescope's submission_metadata.json when
    it is a valid student id, else ``users[0].email``, mapped to a valid id when it is not one
    (:func:`grader.variants.safe_id`: ``o'brien@x.edu`` → ``o_brien@x.edu-<8 hex>``), else the sid so mapped; None
    when neither is there (then no student's numbers can be chosen)."""
    try:
        users = json.loads((upload.parent / METADATA).read_text(encoding="utf-8")).get("users") or []
        sid, email = (str(users[0].get(k) or "").strip() for k in ("sid", "email"))
    except (OSError, ValueError, AttributeError, IndexError, TypeError):
        return None
    if STUDENT_ID.match(sid):
        return sid
    found = email or sid
    return safe_id(found) if found else None


def late_outcome(policy: LatePolicy, upload: Path, student: str) -> tuple[LateOutcome, list[str]]:
    """The late policy applied to the submission in ``upload``, from Gradescope's ``submission_metadata.json``;
    with warnings for the staff (no metadata: no penalty; Gradescope's due date not the policy's)."""
    path = Path(upload).parent / METADATA
    if not path.is_file():
        return assess(policy, student, None), [f"{path}: not found, so the submission time is unknown: no late "
                                               "penalty applied"]
    try:
        meta = read_gradescope_submission(path, student)
    except PolicyError as exc:
        return assess(policy, student, None), [f"{exc}: no late penalty applied"]
    warnings, extension = [], None
    if policy.takes_slip_days:
        warnings.append("the late policy spends slip days, which `grader course` counts across the course: none are "
                        "spent in Gradescope")
    if meta.assignment_due is not None and abs(meta.assignment_due - policy.due) > timedelta(minutes=1):
        warnings.append(f"Gradescope's due date {shown_time(meta.assignment_due, policy.tz)} is not the late "
                        f"policy's {shown_time(policy.due, policy.tz)}: the policy's is used")
    if meta.assignment_due is not None and meta.student_due is not None and meta.student_due > meta.assignment_due:
        # the student's own due time, as Gradescope gives it: a new due time, exact across daylight-saving changes
        extension = Extension(student, None, meta.student_due, "given in Gradescope",
                              f"{path}: users[0].assignment.due_date")
    return assess(policy, student, meta.time, extension), warnings


def run_gradescope(upload: Path = SUBMISSION, results: Path = RESULTS, assignment_dir: Path = Path("."), *,
                   problems: list[str] | None = None, sandbox: Mode = "auto",
                   on_warning: Callable[[str], None] | None = None, secret: Path | None = None,
                   roster: Path | None = None, roster_key: str | None = None) -> SubmissionResult:
    """Grade ``upload`` on every case of the assignment and write Gradescope's ``results.json`` (with the late
    policy applied, when the assignment has one; ``on_warning`` gets what the staff should know about it).
    Per-student cases and questions need the course ``secret`` (default: ``GRADER_SECRET_FILE``) and are graded for
    :func:`variant_id`; with ``roster`` (the release's, its id column ``roster_key``), ``on_warning`` gets a line
    when that id is not on it."""
    from grader.release import ReleaseError, roster_ids

    assignment = full_assignment(load_assignment(assignment_dir))
    upload, results = Path(upload), Path(results)
    try:
        course_secret = load_secret(secret, inside=(assignment.root, upload.resolve(), results.parent.resolve()))
    except SecretError as exc:
        raise UsageError(str(exc)) from exc
    try:
        if roster_key is not None and roster is None:
            raise UsageError("--key names the roster's id column: only with --roster")
        released_to = roster_ids(roster, roster_key) if roster is not None else None
    except ReleaseError as exc:
        raise UsageError(str(exc)) from exc
    with open_session(assignment, problems, sandbox=sandbox, secrets=(results.parent.resolve(),),
                      secret=course_secret) as session:
        folder, notes = locate(upload)
        student = student_id(upload)
        if needing_secret(session.problems):
            student = variant_id(upload) or ""
            if not student:
                raise UsageError(f"{upload.parent / METADATA}: no student id (users[0].sid or email) to choose this "
                                 f"student's per-student cases by ({', '.join(needing_secret(session.problems))})")
            for line in roster_warnings([student], released_to, str(roster), needing_secret(session.problems)) \
                    if released_to is not None and on_warning else ():
                on_warning(line)
        session.prepare()  # a failing reference stops here, before any results are written
        result = session.grade(Submission(student, folder))
    result.notes[:0] = notes
    late = None
    if assignment.late is not None:
        late, warnings = late_outcome(assignment.late, upload, result.student)
        for warning in warnings:
            if on_warning:
                on_warning(warning)
    write_results_json(result, results, late, assignment)
    return result
