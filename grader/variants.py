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

The secret is a file (``--secret FILE``, or the environment variable ``GRADER_SECRET_FILE``; ``grader secret FILE``
makes one: 32 random bytes as 64 hex digits, mode 0600) outside the assignment folder (a release would publish it),
readable by its owner only (mode 0600 or 0400), and random: at least :data:`MIN_BYTES` bytes and
:data:`MIN_BITS` bits by :func:`estimated_bits`. It must be, because every student's release publishes HMAC outputs
(the seeds of their public per-student cases): anyone may try to guess the secret offline from their own seeds, which
is hopeless for a random 256-bit secret and takes seconds for a word and a year. It is held in memory and never
written anywhere: the gradebook's fingerprints get :attr:`Secret.identity`, a keyed hash of it that changes when it
changes and tells nothing about it. Everything here is plain data: grading resolves a problem for one student
(:func:`for_student`) and grades that like any problem.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import os
import re
import secrets as random_source
import stat
import unicodedata
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Iterable

import numpy as np

from grader.models import Case, ProblemSpec, Visibility
from grader.submissions import STUDENT_ID

PER_STUDENT = "per_student"  #: ``seeds: per_student`` in a case of a spec
ENV = "GRADER_SECRET_FILE"  #: the environment variable naming the secret file when --secret is not given
MIN_BYTES = 32  #: the shortest secret accepted (surrounding whitespace aside)
MIN_BITS = 128  #: the least entropy :func:`estimated_bits` must find in it
MAX_BYTES = 4096  #: a larger file is not a course secret
MAKE_ONE = "grader secret FILE"  #: how to make a good one, for the messages
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
    a release, the submissions, the output), that any user but its owner may read or write (mode 0600 or 0400
    only), owned by the sandbox's user, shorter than :data:`MIN_BYTES` or weaker than :data:`MIN_BITS`
    (:func:`estimated_bits`: words, repeats, sequences)."""
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
    info = real.stat()
    if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise SecretError(f"{path} ({where}): the course secret may be read or written by users other than its owner "
                          f"(mode {stat.S_IMODE(info.st_mode):04o}); chmod 600 {path}")
    if info.st_uid == _sandbox_uid() and os.geteuid() != info.st_uid:
        raise SecretError(f"{path} ({where}): the course secret is owned by uid {info.st_uid}, the user student code "
                          f"runs as; chown it to the user who grades")
    if info.st_size > MAX_BYTES:
        raise SecretError(f"{path} ({where}): {info.st_size} bytes, not a course secret; make one with {MAKE_ONE}")
    try:
        key = real.read_bytes().strip()
    except OSError as exc:
        raise SecretError(f"{path} ({where}): cannot read the course secret ({exc.strerror})") from exc
    if len(key) < MIN_BYTES:
        raise SecretError(f"{path} ({where}): the course secret is shorter than {MIN_BYTES} bytes; make a random one "
                          f"with {MAKE_ONE}")
    bits = estimated_bits(key)
    if bits < MIN_BITS:
        raise SecretError(f"{path} ({where}): the course secret is not random enough (about {bits:.0f} bits; words, "
                          f"repeats and sequences are guessed easily, and each student's release publishes values "
                          f"derived from it, against which guesses can be tried offline); at least {MIN_BITS} bits are "
                          f"needed: make a random one with {MAKE_ONE}")
    return Secret(key, real)


def new_secret(path: Path | str) -> Path:
    """Write a new random course secret to ``path`` (a new file, mode 0600): 32 random bytes as 64 hex digits. An
    existing file is never replaced (:class:`SecretError`): a new secret gives every student new numbers."""
    path = Path(path).expanduser()
    if path.exists() or path.is_symlink():
        raise SecretError(f"{path}: already exists; a new course secret gives every student new numbers, so it is "
                          "never replaced (remove the file first if that is what you want)")
    if not path.parent.is_dir():
        raise SecretError(f"{path.parent}: no such folder")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    except OSError as exc:
        raise SecretError(f"{path}: cannot create it ({exc.strerror})") from exc
    with os.fdopen(fd, "w", encoding="ascii") as out:
        os.fchmod(out.fileno(), 0o600)  # whatever the umask
        out.write(random_source.token_hex(32) + "\n")
    return path


def _sandbox_uid() -> int:
    from grader.sandbox.privilege import SANDBOX_UID  # the user student code runs as when the grader is root

    return SANDBOX_UID


#: what people type: words (Capitalised, lower or upper case, with one separator after), each about a 4000-word list
_WORD = re.compile(r"(?:[A-Z][a-z]{2,}|[a-z]{3,}|[A-Z]{3,})[ \t\-_.,:;/+'\"]?")
_WORD_BITS = 12.0
_REFERENCE_BITS = 8.0  #: a repeat of something earlier, or a run such as abcd, 4321, aaaa
_ESTIMATED = 256  #: characters looked at (a longer secret has at least their bits)


def estimated_bits(key: bytes) -> float:
    """A conservative estimate of the bits of entropy in ``key``, the way a guesser would see it. It is parsed left to
    right: a repeat of 3 or more characters seen before, or a run of 3 or more with a constant step (``abc``,
    ``9876``, ``aaa``) costs 8 bits; a word (3 or more letters, ``deep``, ``Learning``, ``TERM``, with a separator
    after it) 12 bits; a digit next to a digit log2(10) + 0.5; any other character log2 of the alphabet its classes
    make (hex alone: 16; lower, upper, digits, punctuation, anything else: 26, 26, 10, 33, 161). The result is at most
    the text's empirical Shannon entropy times its length, and 8 bits a byte. Random keys (64 hex digits, base64 of 32
    bytes, 32 raw bytes) come out at 140 to 250 bits; ``deeplearning2026`` at 27, four words and a year below 100."""
    text = key[:_ESTIMATED].decode("latin-1")
    n = len(text)
    if n == 0:
        return 0.0
    per = math.log2(_alphabet(text))
    bits, i = 0.0, 0
    while i < n:
        k = max(_repeat(text, i), _run(text, i))
        if k >= 3:
            bits, i = bits + _REFERENCE_BITS, i + k
            continue
        word = _WORD.match(text, i)
        if word and _WORD_BITS < (word.end() - i) * per:
            bits, i = bits + _WORD_BITS, word.end()
            continue
        digits = text[i].isdigit() and ((i > 0 and text[i - 1].isdigit()) or (i + 1 < n and text[i + 1].isdigit()))
        bits, i = bits + (min(per, math.log2(10) + 0.5) if digits else per), i + 1
    shannon = -sum(c * math.log2(c / n) for c in Counter(text).values())
    return max(0.0, min(bits, shannon, 8.0 * n))


def _alphabet(text: str) -> int:
    if re.fullmatch(r"[0-9a-f]+|[0-9A-F]+", text):
        return 16
    size = sum(width for width, present in (
        (26, any("a" <= c <= "z" for c in text)), (26, any("A" <= c <= "Z" for c in text)),
        (10, any("0" <= c <= "9" for c in text)), (33, any(" " <= c <= "~" and not c.isalnum() for c in text)),
        (161, any(not " " <= c <= "~" for c in text))) if present)
    return max(size, 2)


def _repeat(text: str, i: int) -> int:
    """The longest repeat at ``i`` of text starting before it (it may overlap, as in LZ77)."""
    best = 0
    for j in range(i):
        k = 0
        while i + k < len(text) and text[j + k] == text[i + k]:
            k += 1
        best = max(best, k)
    return best


def _run(text: str, i: int) -> int:
    """The length of a run at ``i`` whose characters step by -1, 0 or +1 (abcd, 4321, aaaa), or 0 under 3."""
    if i + 2 >= len(text) or (step := ord(text[i + 1]) - ord(text[i])) not in (-1, 0, 1):
        return 0
    k = 2
    while i + k < len(text) and ord(text[i + k]) - ord(text[i + k - 1]) == step:
        k += 1
    return k if k >= 3 else 0


def safe_id(text: str) -> str:
    """``text`` as a student id (a folder name: letters, digits and . _ @ + -, a letter or digit first): itself when
    it is one; otherwise, deterministically, its accents dropped (é → e), every other character outside the set
    replaced by ``_``, cut at 64 characters, then ``-`` and the first 8 hex digits of the SHA-256 of ``text``, so that
    two different texts never get the same id (``o'brien@x.edu`` → ``o_brien@x.edu-<8 hex>``)."""
    text = text.strip()
    if STUDENT_ID.match(text):
        return text
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    cleaned = re.sub(r"[^A-Za-z0-9._@+-]", "_", folded)
    cleaned = re.sub(r"^[^A-Za-z0-9]+", "", cleaned)[:64] or "id"
    return f"{cleaned}-{hashlib.sha256(text.encode('utf-8')).hexdigest()[:8]}"


def roster_warnings(students: Iterable[str], roster: Iterable[str], where: str, problems: Iterable[str]) -> list[str]:
    """Warnings for ``students`` graded on per-student ``problems`` whose ids are not on the release's ``roster``:
    their numbers are not those of any release (ids must match exactly, case included)."""
    roster = list(roster)
    exact, folded = set(roster), {r.casefold(): r for r in roster}
    names = ", ".join(problems)
    warnings = []
    for student in students:
        if student in exact:
            continue
        if student.casefold() in folded:
            warnings.append(f"{student}: graded on per-student problems ({names}) under the id {student!r}, but the "
                            f"release roster {where} has {folded[student.casefold()]!r}: ids must match exactly (case "
                            "included), so this student's public numbers are not the ones graded; rename the "
                            "submission (or the roster entry) and grade again")
        else:
            warnings.append(f"{student}: not on the release roster {where}: graded on per-student problems ({names}) "
                            "with numbers no release gave them (ids must match exactly)")
    return warnings


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
