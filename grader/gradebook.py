"""The gradebook: an SQLite database in the output folder that keeps every grade as soon as it is made.

All the grader's SQL lives in this module, behind :class:`Gradebook`. It records each ``grade`` run, each
submission (with the hashes of its files and of the assignment's specs it was graded against), each
problem (printed output, notes, timing) and each check or question result. Results are stored raw,
before manual grades are merged, so a changed ``manual-grades.csv`` takes effect without a regrade.

Each result's ``data`` (the measurements behind a verdict, plain data that a kit's checks attach and its
report parts draw) is stored as JSON beside it, so reports written from the gradebook draw
what the grading saw. Each problem's grade is stored with the fingerprint of what decided it
(:mod:`grader.problem_hash`: its spec, reference, kit code and checks), and each fingerprint with its parts, so
a spec edit regrades that problem only and a regrade can say which file changed. It also keeps the output
folder's settings, e.g. the random salt that keys the leaderboards' pseudonyms when there is no course secret
(:meth:`Gradebook.leaderboard_salt`). Older gradebooks are upgraded in place when opened: version 1 (before ``data``
was stored), version 2 (before per-problem fingerprints; its problems carry none until
:meth:`Gradebook.adopt_fingerprints` or a regrade gives them one), version 3 (before the settings: a leaderboard
salt is drawn when first needed, so its pseudonyms change once).

Crash safety: one submission is written in one transaction (WAL journal, ``synchronous=FULL``), so a
killed grader loses at most the submissions still being graded, and UNIQUE constraints keep a rerun
from duplicating anything. The connection is used from one thread only: the one that collects results.
sqlite errors never escape: they become :class:`GradebookError` with a message for the user.
"""

from __future__ import annotations

import json
import math
import secrets
import sqlite3
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator

from grader.models import NOT_GRADED, CheckResult, ProblemResult, Status, SubmissionResult, Visibility

if TYPE_CHECKING:
    from grader.problem_hash import ProblemFingerprint

FILENAME = "gradebook.sqlite"
SCHEMA_VERSION = 4
BUSY_TIMEOUT_S = 10.0  #: how long to wait for another process's write lock before giving up

_SCHEMA = """
CREATE TABLE schema_version (
    version     INTEGER NOT NULL
);
CREATE TABLE runs (
    id              INTEGER PRIMARY KEY,
    started_at      TEXT NOT NULL,
    finished_at     TEXT,               -- NULL: the run was interrupted (or is still going)
    assignment      TEXT NOT NULL,
    spec_hash       TEXT NOT NULL,
    submissions_dir TEXT NOT NULL,
    problems        TEXT NOT NULL,      -- JSON list of the selected problem ids
    options         TEXT NOT NULL,      -- JSON object: jobs, sandbox, force
    graded          INTEGER,            -- submissions graded by this run
    skipped         INTEGER             -- submissions already graded and unchanged
);
CREATE TABLE submissions (
    id           INTEGER PRIMARY KEY,
    student      TEXT NOT NULL UNIQUE,
    folder       TEXT NOT NULL,
    content_hash TEXT NOT NULL,         -- names and contents of the submission folder's files
    spec_hash    TEXT NOT NULL,         -- the assignment's YAML files and reference solutions
    notes        TEXT NOT NULL,         -- JSON list
    run_id       INTEGER REFERENCES runs(id),
    graded_at    TEXT NOT NULL,
    seconds      REAL
);
CREATE TABLE problems (
    id            INTEGER PRIMARY KEY,
    submission_id INTEGER NOT NULL REFERENCES submissions(id) ON DELETE CASCADE,
    position      INTEGER NOT NULL,
    problem       TEXT NOT NULL,
    title         TEXT NOT NULL,
    stdout        TEXT NOT NULL,
    stderr        TEXT NOT NULL,
    notes         TEXT NOT NULL,        -- JSON list
    answer_issues TEXT NOT NULL,        -- JSON list
    run_id        INTEGER REFERENCES runs(id),
    graded_at     TEXT NOT NULL,
    seconds       REAL,
    fingerprint   TEXT,                 -- what decided this grade (fingerprints.digest), NULL when unknown (older)
    UNIQUE (submission_id, problem)
);
CREATE TABLE fingerprints (
    digest  TEXT PRIMARY KEY,
    problem TEXT NOT NULL,
    parts   TEXT NOT NULL               -- JSON object: part (spec, reference, kit:<file>, ...) -> its hash
);
CREATE TABLE results (
    id          INTEGER PRIMARY KEY,
    problem_id  INTEGER NOT NULL REFERENCES problems(id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,
    problem     TEXT NOT NULL,
    check_name  TEXT NOT NULL,
    case_id     TEXT,
    kind        TEXT NOT NULL,
    visibility  TEXT NOT NULL,
    status      TEXT NOT NULL,
    score       REAL NOT NULL,
    max_score   REAL NOT NULL,
    feedback    TEXT NOT NULL,
    diagnosis   TEXT,
    data        TEXT,                   -- JSON object: the measurements behind the verdict, or NULL
    UNIQUE (problem_id, position)
);
CREATE TABLE settings (
    name        TEXT PRIMARY KEY,
    value       TEXT NOT NULL           -- e.g. leaderboard_salt: hex of random bytes, drawn once
);
CREATE INDEX results_by_problem ON results (problem_id);
CREATE INDEX problems_by_submission ON problems (submission_id);
"""


#: statements that bring a gradebook of the version in the key to the next version
_UPGRADES = {
    1: ("ALTER TABLE results ADD COLUMN data TEXT",),
    2: ("ALTER TABLE problems ADD COLUMN fingerprint TEXT",
        "CREATE TABLE fingerprints (digest TEXT PRIMARY KEY, problem TEXT NOT NULL, parts TEXT NOT NULL)"),
    3: ("CREATE TABLE IF NOT EXISTS settings (name TEXT PRIMARY KEY, value TEXT NOT NULL)",),
}
LEADERBOARD_SALT = "leaderboard_salt"  #: the settings row of the salt that keys pseudonyms without a course secret
SALT_BYTES = 32


class GradebookError(Exception):
    """The gradebook cannot be read or written; the message says which file and what to do."""


@dataclass(frozen=True)
class Stored:
    """What the gradebook holds for one student: the hashes it was graded with and its problems."""

    content_hash: str
    spec_hash: str
    problems: frozenset[str]
    #: those of ``problems`` with a result the machine kept from being graded (models.NOT_GRADED)
    ungraded: frozenset[str] = frozenset()
    #: each stored problem's fingerprint digest (None: graded before fingerprints were stored)
    fingerprints: dict[str, str | None] = field(default_factory=dict, compare=False)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def _message(path: Path, exc: sqlite3.Error) -> str:
    text = str(exc)
    low = text.lower()
    if "not a database" in low or "malformed" in low or "corrupt" in low:
        return f"{path} is not a valid gradebook ({text}); move it away to start afresh"
    if "locked" in low or "busy" in low:
        return (f"{path} is locked by another process ({text}); is another 'grader grade' writing to the same "
                "output folder? Run again once it has finished")
    if "unable to open" in low:
        return f"cannot open the gradebook {path} ({text}); check that the output folder is writable"
    if "readonly" in low or "disk" in low or "full" in low:
        return f"cannot write the gradebook {path} ({text})"
    return f"gradebook {path}: {text}"


def plain_data(value: Any) -> Any:
    """``value`` as plain JSON data: numpy scalars and arrays become numbers and lists, tuples lists, NaN
    and infinities null; anything else its ``str``, so that odd data never costs a stored grade."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): plain_data(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain_data(v) for v in value]
    tolist = getattr(value, "tolist", None)  # numpy scalars and arrays
    if callable(tolist):
        return plain_data(tolist())
    return str(value)


def _dump_data(data: dict[str, Any] | None) -> str | None:
    return None if data is None else json.dumps(plain_data(data), separators=(",", ":"), allow_nan=False)


def _load_data(text: str | None) -> dict[str, Any] | None:
    if text is None:
        return None
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError("a result's data is not a JSON object")
    return data


class Gradebook:
    """One open gradebook file. Use as a context manager, from a single thread."""

    def __init__(self, path: Path, conn: sqlite3.Connection) -> None:
        self.path = path
        self._conn = conn

    # ------------------------------------------------------------------ opening and errors

    @classmethod
    def open(cls, path: Path) -> "Gradebook":
        """Open ``path``, creating the gradebook when the file is new or empty."""
        path = Path(path)
        try:
            conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        except sqlite3.Error as exc:
            raise GradebookError(_message(path, exc)) from exc
        book = cls(path, conn)
        try:
            book._setup()
        except BaseException:
            conn.close()
            raise
        return book

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            raise GradebookError(_message(self.path, exc)) from exc

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: all of it is stored, or (after an error or a crash) none of it."""
        with self._errors():
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                if self._conn.in_transaction:  # sqlite may have rolled back already (e.g. disk full)
                    self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def _setup(self) -> None:
        with self._errors():
            self._conn.execute("PRAGMA foreign_keys = ON")
            tables = {row[0] for row in self._conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if tables and "schema_version" not in tables:
                raise GradebookError(f"{self.path} is not a valid gradebook (an SQLite database without a schema "
                                     "version table); move it away to start afresh")
            if tables:
                row = self._conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
                version = row[0] if row else None
                if isinstance(version, int) and version in _UPGRADES:
                    version = self._upgrade(version)
                if version != SCHEMA_VERSION:
                    newer = isinstance(version, int) and version > SCHEMA_VERSION
                    raise GradebookError(
                        f"{self.path} has gradebook schema version {version}, but this grader reads version "
                        f"{SCHEMA_VERSION}" + ("; it was written by a newer grader" if newer
                                               else "; move it away to start afresh"))
            self._conn.execute("PRAGMA journal_mode = WAL")
            self._conn.execute("PRAGMA synchronous = FULL")
        if not tables:
            with self._transaction() as db:
                if db.execute("SELECT COUNT(*) FROM sqlite_master WHERE name = 'schema_version'").fetchone()[0]:
                    return  # another process created it meanwhile
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        db.execute(statement)
                db.execute("INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION,))

    def _upgrade(self, version: int) -> int:
        """Bring an older gradebook to this version, one transaction per step; returns the version reached."""
        while version in _UPGRADES:
            with self._transaction() as db:
                current = db.execute("SELECT MAX(version) FROM schema_version").fetchone()[0]
                if current == version:  # not already upgraded by another process meanwhile
                    for statement in _UPGRADES[version]:
                        db.execute(statement)
                    db.execute("UPDATE schema_version SET version = ?", (version + 1,))
                version = db.execute("SELECT MAX(version) FROM schema_version").fetchone()[0]
        return version

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> "Gradebook":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ runs

    def start_run(self, *, assignment: Path, spec_hash: str, submissions_dir: Path, problems: list[str],
                  options: dict[str, Any]) -> int:
        """Record the start of a ``grade`` run; returns its id."""
        with self._transaction() as db:
            cursor = db.execute(
                "INSERT INTO runs (started_at, assignment, spec_hash, submissions_dir, problems, options) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (_now(), str(assignment), spec_hash, str(submissions_dir), json.dumps(problems),
                 json.dumps(options, sort_keys=True)))
            return int(cursor.lastrowid or 0)

    def finish_run(self, run_id: int, *, graded: int, skipped: int) -> None:
        with self._transaction() as db:
            db.execute("UPDATE runs SET finished_at = ?, graded = ?, skipped = ? WHERE id = ?",
                       (_now(), graded, skipped, run_id))

    def last_run(self) -> dict[str, Any] | None:
        """The latest run: ``id``, ``started_at``, ``finished_at`` (None when it was interrupted), ``assignment`` and
        ``submissions_dir`` (the folders it graded)."""
        with self._errors():
            row = self._conn.execute("SELECT id, started_at, finished_at, assignment, submissions_dir FROM runs "
                                     "ORDER BY id DESC LIMIT 1").fetchone()
        return None if row is None else {"id": row[0], "started_at": row[1], "finished_at": row[2],
                                         "assignment": row[3], "submissions_dir": row[4]}

    # ------------------------------------------------------------------ settings

    def leaderboard_salt(self) -> bytes:
        """The output folder's leaderboard salt: random bytes drawn the first time it is asked for and kept, which
        key the pseudonyms when there is no course secret (grader/leaderboard.py): the same from run to run, and
        nobody without this file can compute them."""
        with self._transaction() as db:
            db.execute("INSERT OR IGNORE INTO settings (name, value) VALUES (?, ?)",
                       (LEADERBOARD_SALT, secrets.token_hex(SALT_BYTES)))
            text = db.execute("SELECT value FROM settings WHERE name = ?", (LEADERBOARD_SALT,)).fetchone()[0]
        try:
            salt = bytes.fromhex(text)
        except (TypeError, ValueError):
            salt = b""
        if len(salt) < 16:
            raise GradebookError(f"{self.path} is not a valid gradebook (its {LEADERBOARD_SALT} is not 16 or more "
                                 "bytes of hex); move it away to start afresh")
        return salt

    # ------------------------------------------------------------------ submissions

    def stored(self) -> dict[str, Stored]:
        """For every student in the gradebook: the hashes of the last grading, the problems graded, and which
        of them hold a result that the machine kept from being graded."""
        with self._errors():
            subs = self._conn.execute("SELECT id, student, content_hash, spec_hash FROM submissions").fetchall()
            problems: dict[int, dict[str, str | None]] = {}
            ungraded: dict[int, set[str]] = {}
            for sid, name, left, digest in self._conn.execute(
                    "SELECT submission_id, problem, EXISTS (SELECT 1 FROM results WHERE results.problem_id = "
                    "problems.id AND results.diagnosis = ?), fingerprint FROM problems", (NOT_GRADED,)):
                problems.setdefault(sid, {})[name] = digest
                if left:
                    ungraded.setdefault(sid, set()).add(name)
        return {student: Stored(content, spec, frozenset(problems.get(sid, {})), frozenset(ungraded.get(sid, ())),
                                dict(problems.get(sid, {})))
                for sid, student, content, spec in subs}

    def fingerprint_parts(self, digests: Iterable[str]) -> dict[str, dict[str, str]]:
        """The parts of each stored fingerprint among ``digests`` (unknown ones are left out)."""
        wanted = sorted(set(digests))
        found: dict[str, dict[str, str]] = {}
        with self._errors():
            for i in range(0, len(wanted), 500):
                chunk = wanted[i:i + 500]
                rows = self._conn.execute(f"SELECT digest, parts FROM fingerprints WHERE digest IN "
                                          f"({', '.join('?' * len(chunk))})", chunk).fetchall()
                found.update({digest: json.loads(parts) for digest, parts in rows})
        return found

    def adopt_fingerprints(self, spec_hash: str, fingerprints: dict[str, "ProblemFingerprint"]) -> int:
        """Give the problems an older grader stored without a fingerprint the current one, where the submission was
        graded against this very assignment (``spec_hash``, the whole assignment's hash, unchanged): their grades
        are current, and need no regrade. Returns how many problems were adopted."""
        with self._transaction() as db:
            self._remember(db, fingerprints.values())
            adopted = 0
            for problem, fp in fingerprints.items():
                adopted += db.execute(
                    "UPDATE problems SET fingerprint = ? WHERE fingerprint IS NULL AND problem = ? AND submission_id "
                    "IN (SELECT id FROM submissions WHERE spec_hash = ?)", (fp.digest, problem, spec_hash)).rowcount
        return adopted

    @staticmethod
    def _remember(db: sqlite3.Connection, fingerprints: Iterable["ProblemFingerprint"]) -> None:
        db.executemany("INSERT OR IGNORE INTO fingerprints (digest, problem, parts) VALUES (?, ?, ?)",
                       [(fp.digest, fp.problem, json.dumps(fp.parts, sort_keys=True)) for fp in fingerprints])

    def save(self, result: SubmissionResult, *, folder: Path, content_hash: str, spec_hash: str, run_id: int | None,
             fresh: Iterable[str], seconds: float | None = None,
             fingerprints: dict[str, "ProblemFingerprint"] | None = None) -> None:
        """Store ``result`` (raw, before manual grades) as the student's grade, in one transaction.

        Problems named in ``fresh`` were just graded and replace what was stored, with their ``fingerprints``
        (what decided them); the other problems of ``result`` are kept as stored (when they are); stored
        problems not in ``result`` are dropped.
        """
        fresh = set(fresh)
        fingerprints = fingerprints or {}
        now = _now()
        with self._transaction() as db:
            self._remember(db, [fingerprints[p] for p in fresh if p in fingerprints])
            db.execute(
                "INSERT INTO submissions (student, folder, content_hash, spec_hash, notes, run_id, graded_at, seconds) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (student) DO UPDATE SET folder = excluded.folder, "
                "content_hash = excluded.content_hash, spec_hash = excluded.spec_hash, notes = excluded.notes, "
                "run_id = excluded.run_id, graded_at = excluded.graded_at, seconds = excluded.seconds",
                (result.student, str(folder), content_hash, spec_hash, json.dumps(result.notes), run_id, now, seconds))
            sid = db.execute("SELECT id FROM submissions WHERE student = ?", (result.student,)).fetchone()[0]
            existing = dict(db.execute("SELECT problem, id FROM problems WHERE submission_id = ?", (sid,)).fetchall())
            wanted = {p.problem for p in result.problems}
            for name, pid in existing.items():
                if name not in wanted or name in fresh:
                    db.execute("DELETE FROM results WHERE problem_id = ?", (pid,))
                    db.execute("DELETE FROM problems WHERE id = ?", (pid,))
            for position, p in enumerate(result.problems):
                if p.problem in existing and p.problem not in fresh:
                    db.execute("UPDATE problems SET position = ? WHERE id = ?", (position, existing[p.problem]))
                    continue
                fp = fingerprints.get(p.problem)
                cursor = db.execute(
                    "INSERT INTO problems (submission_id, position, problem, title, stdout, stderr, notes, "
                    "answer_issues, run_id, graded_at, seconds, fingerprint) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (sid, position, p.problem, p.title, p.stdout, p.stderr, json.dumps(p.notes),
                     json.dumps(p.answer_issues), run_id, now, p.seconds, fp.digest if fp is not None else None))
                db.executemany(
                    "INSERT INTO results (problem_id, position, problem, check_name, case_id, kind, visibility, "
                    "status, score, max_score, feedback, diagnosis, data) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [(cursor.lastrowid, i, c.problem, c.check, c.case, c.kind, c.visibility.value, c.status.value,
                      float(c.score), float(c.max_score), c.feedback, c.diagnosis, _dump_data(c.data))
                     for i, c in enumerate(p.checks)])

    def drop_problems_except(self, keep: Iterable[str]) -> list[tuple[str, str, float]]:
        """Delete every stored problem grade whose problem is not in ``keep`` (the assignment's problems now: one
        removed or renamed in assignment.yaml); returns (student, problem, raw score) of each, to be listed."""
        keep = set(keep)
        with self._transaction() as db:
            rows = db.execute(
                "SELECT problems.id, submissions.student, problems.problem, "
                "(SELECT COALESCE(SUM(score), 0) FROM results WHERE results.problem_id = problems.id) "
                "FROM problems JOIN submissions ON submissions.id = problems.submission_id "
                "ORDER BY submissions.student, problems.position").fetchall()
            gone = [(pid, student, problem, float(score)) for pid, student, problem, score in rows if problem not in keep]
            for pid, *_ in gone:
                db.execute("DELETE FROM results WHERE problem_id = ?", (pid,))
                db.execute("DELETE FROM problems WHERE id = ?", (pid,))
        return [(student, problem, score) for _, student, problem, score in gone]

    def load(self, students: Iterable[str] | None = None) -> dict[str, SubmissionResult]:
        """The stored (raw) results of ``students`` (default: everyone), keyed by student."""
        wanted = None if students is None else set(students)
        with self._errors():
            subs = self._conn.execute("SELECT id, student, notes FROM submissions ORDER BY student").fetchall()
            problems = self._conn.execute(
                "SELECT id, submission_id, problem, title, stdout, stderr, notes, answer_issues, seconds "
                "FROM problems ORDER BY submission_id, position").fetchall()
            results = self._conn.execute(
                "SELECT problem_id, problem, check_name, case_id, visibility, status, score, max_score, feedback, "
                "diagnosis, kind, data FROM results ORDER BY problem_id, position").fetchall()
        try:
            checks: dict[int, list[CheckResult]] = {}
            for (pid, problem, check, case, visibility, status, score, max_score, feedback, diagnosis, kind,
                 data) in results:
                checks.setdefault(pid, []).append(CheckResult(problem, check, case, Visibility(visibility),
                                                              Status(status), score, max_score, feedback, diagnosis,
                                                              kind, _load_data(data)))
            by_submission: dict[int, list[ProblemResult]] = {}
            for pid, sid, problem, title, stdout, stderr, notes, issues, seconds in problems:
                by_submission.setdefault(sid, []).append(ProblemResult(
                    problem, title, checks.get(pid, []), stdout, stderr, json.loads(notes), json.loads(issues),
                    seconds=seconds))
            return {student: SubmissionResult(student, by_submission.get(sid, []), json.loads(notes))
                    for sid, student, notes in subs if wanted is None or student in wanted}
        except (ValueError, TypeError) as exc:
            raise GradebookError(f"{self.path} is not a valid gradebook (a stored value cannot be read: {exc}); "
                                 "move it away to start afresh") from exc

    def counts(self) -> dict[str, int]:
        """How many rows each table holds: runs, submissions, problems, results."""
        with self._errors():
            return {table: self._conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
                    for table in ("runs", "submissions", "problems", "results")}
