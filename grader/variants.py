"""Per-student variants: cases whose seed, and written questions whose numbers, differ from student to student.

A case with ``seeds: per_student`` has no seed in its spec: each student's derives from the course secret, the
assignment, the problem, the case and the student, so every student gets different numbers and nobody can compute
anyone else's without the secret:

    seed = HMAC-SHA256(secret, "{assignment id}/{problem id}/{case id}/{student id}"), its first 8 bytes as a
           big-endian integer, shifted right by one bit (63 bits: any numpy seed)

A ``number`` question with ``params`` draws each student's values from a numpy generator seeded the same way, with
``question:{question id}`` in place of the case id (a case id never holds a colon). Student ids are submission folder
names (``grader grade``, ``grader check``), a roster's (``grader release --roster``) or Gradescope's
(``grader gradescope``: the ``sid``, else the email, of submission_metadata.json's first user).

The secret is a file (``--secret FILE``, or the environment variable ``GRADER_SECRET_FILE``) outside the assignment
folder (a release would publish it) and readable by its owner only; it is held in memory and never written anywhere:
the gradebook's fingerprints get :attr:`Secret.identity`, a keyed hash of it that changes when it changes and tells
nothing about it. Everything here is plain data: grading resolves a problem for one student
(:func:`for_student`) and grades that like any problem.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import stat
from dataclasses import replace
from pathlib import Path
from typing import Iterable

import numpy as np

from grader.models import Case, ProblemSpec, Visibility

PER_STUDENT = "per_student"  #: ``seeds: per_student`` in a case of a spec
ENV = "GRADER_SECRET_FILE"  #: the environment variable naming the secret file when --secret is not given
MIN_BYTES = 16  #: the shortest secret accepted
#: the synthetic students `grader validate` (and mutation testing, the first) grades the references as
VALIDATION_STUDENTS = ("validation-1", "validation-2", "validation-3")
_IDENTITY = b"grader: the identity of this course secret"
ALL = frozenset(Visibility)


class SecretError(Exception):
    """The course secret is needed and missing, or cannot be used; the message says what to do."""


class Secret:
    """The course secret, read from its file. Its bytes stay in this object: ``repr`` shows the file only, and it
    cannot be pickled (so it never travels into a gradebook, a result or another process)."""

    __slots__ = ("_key", "path")

    def __init__(self, key: bytes, path: Path) -> None:
        self._key = key
        self.path = path

    def __repr__(self) -> str:
        return f"Secret({str(self.path)!r})"

    def __reduce__(self):  # noqa: D105
        raise TypeError("the course secret is never pickled")

    def derive(self, *parts: str) -> int:
        """A 63-bit seed from HMAC-SHA256 of ``parts`` joined by ``/``."""
        digest = hmac.new(self._key, "/".join(parts).encode("utf-8"), hashlib.sha256).digest()
        return int.from_bytes(digest[:8], "big") >> 1

    @property
    def identity(self) -> str:
        """A keyed hash of the secret: the same for the same secret, different for another, and no help to anyone
        guessing it (what the gradebook's fingerprints hold)."""
        return hmac.new(self._key, _IDENTITY, hashlib.sha256).hexdigest()


def case_seed(secret: Secret, assignment: str, problem: str, case: str, student: str) -> int:
    return secret.derive(assignment, problem, case, student)


def question_seed(secret: Secret, assignment: str, problem: str, question: str, student: str) -> int:
    return secret.derive(assignment, problem, f"question:{question}", student)


def load_secret(given: Path | str | None, *, inside: Iterable[Path] = ()) -> Secret | None:
    """The secret in ``given`` (default: the file ``GRADER_SECRET_FILE`` names), or None when neither names one.
    Refused (:class:`SecretError`): a file that is missing, inside one of the folders ``inside`` (the assignment,
    a release, the submissions, the output), readable by every user, or shorter than :data:`MIN_BYTES`."""
    named = given if given is not None else (os.environ.get(ENV) or None)
    if named is None:
        return None
    where = "--secret" if given is not None else ENV
    path = Path(named).expanduser()
    real = path.resolve()
    if not real.is_file():
        raise SecretError(f"{path} ({where}): no such secret file")
    for folder in inside:
        folder = Path(folder).resolve()
        if real == folder or real.is_relative_to(folder):
            raise SecretError(f"{path} ({where}): the course secret lies inside {folder}; keep it outside the "
                              "assignment, its releases and the submission and output folders (a release or an "
                              "upload would publish it)")
    if real.stat().st_mode & stat.S_IROTH:
        raise SecretError(f"{path} ({where}): the course secret is readable by every user; chmod 600 {path}")
    try:
        key = real.read_bytes().strip()
    except OSError as exc:
        raise SecretError(f"{path} ({where}): cannot read the course secret ({exc.strerror})") from exc
    if len(key) < MIN_BYTES:
        raise SecretError(f"{path} ({where}): the course secret is shorter than {MIN_BYTES} bytes; make one with "
                          f"python -c 'import secrets; print(secrets.token_hex(32))' > {path}")
    return Secret(key, real)


def per_student_questions(problem: ProblemSpec, visibilities: frozenset[Visibility] = ALL) -> list:
    return [q for q in problem.questions if getattr(q, "params", None) and q.visibility in visibilities]


def has_variants(problem: ProblemSpec, visibilities: frozenset[Visibility] = ALL) -> bool:
    """Whether ``problem`` has per-student cases or questions among ``visibilities``."""
    return (any(c.per_student and c.visibility in visibilities for c in problem.cases)
            or bool(per_student_questions(problem, visibilities)))


def needing_secret(problems: Iterable[ProblemSpec], visibilities: frozenset[Visibility] = ALL) -> list[str]:
    """The ids of ``problems`` with per-student cases or questions among ``visibilities``."""
    return [p.id for p in problems if has_variants(p, visibilities)]


def require(secret: Secret | None, problems: Iterable[ProblemSpec], visibilities: frozenset[Visibility] = ALL,
            doing: str = "grade") -> None:
    """Refuse (:class:`SecretError`) to ``doing`` problems with per-student cases or questions without the secret."""
    needing = needing_secret(problems, visibilities)
    if needing and secret is None:
        raise SecretError(f"cannot {doing} {', '.join(needing)} without the course secret: "
                          f"{'they have' if len(needing) > 1 else 'it has'} per-student cases or questions, whose "
                          f"numbers derive from it; pass --secret FILE or set {ENV} (the file lies outside the "
                          "assignment folder)")


def for_student(problem: ProblemSpec, assignment: str, student: str, secret: Secret | None,
                visibilities: frozenset[Visibility] = ALL) -> ProblemSpec:
    """``problem`` as ``student`` gets it: its per-student cases among ``visibilities`` with their seeds, its
    per-student questions among them with their numbers (prompt and answer); ``problem`` itself when it has none."""
    if not has_variants(problem, visibilities):
        return problem
    require(secret, [problem], visibilities)
    assert secret is not None
    cases = tuple(replace(c, seed=case_seed(secret, assignment, problem.id, c.id, student))
                  if c.per_student and c.visibility in visibilities else c for c in problem.cases)
    mine = {q.id for q in per_student_questions(problem, visibilities)}
    questions = tuple(q.with_params(q.draw(np.random.default_rng(question_seed(secret, assignment, problem.id, q.id,
                                                                                student))))
                      if q.id in mine else q for q in problem.questions)
    return replace(problem, cases=cases, questions=questions)


def resolved_cases(problem: ProblemSpec) -> list[Case]:
    """The per-student cases of a problem resolved for one student (what a grading session may forget after)."""
    return [c for c in problem.cases if c.per_student and c.seed is not None]
