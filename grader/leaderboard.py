"""Leaderboards: a metric of a problem's check, ranked across the class under pseudonyms.

A problem's spec may declare one (``leaderboard:``; :class:`grader.spec.schema.LeaderboardModel`)::

    leaderboard:
      metric: seconds        # a key of the check's result data (CheckResult.data)
      check: timing          # the check, by its name in the spec
      order: asc             # asc: lower is better; desc: higher is better
      label: "time (s)"      # the board's name for the metric (default: the metric)
      aggregate: mean        # over the check's cases: mean, median, min, max or sum (default: mean)

It decides no grade (the spec's key is left out of every fingerprint, and a student release drops it). Only runs
that passed count: a student is on the board when the check passed on every one of its cases and each case's data
holds a finite number under ``metric``; the board ranks the aggregate of those numbers. Anyone else is off the
board, with the reason (:attr:`Standing.reason`), which their report gives.

Ranks are competition ranks on the values as shown (four significant digits): equal values share a rank, and the
next rank counts them (1, 2, 2, 4). Ties are listed by pseudonym.

**Pseudonyms.** One per student and assignment (the same on every board of the assignment), an adjective and an
animal chosen by a number derived from the assignment id and the student id under a key that only the staff hold,
so that nobody can tell whose a pseudonym is, or compute anyone's, from a student id and this rule:

- with the course secret (grader/variants.py: ``--secret`` or ``GRADER_SECRET_FILE``), HMAC-SHA256 of
  ``leaderboard/{assignment id}/{student id}/{attempt}`` under it (:meth:`Secret.derive`): the same pseudonyms in
  every output folder of the course;
- without it, the same HMAC under the output folder's **leaderboard salt**: 32 random bytes that ``grader grade``
  creates the first time it writes a board and keeps in the gradebook (``OUT/gradebook.sqlite``, on the staff's
  side; :meth:`grader.gradebook.Gradebook.leaderboard_salt`), so the pseudonyms hold from run to run of the same
  output folder, and another folder (or a gradebook moved away) gives everyone new ones. :func:`boards` given
  neither key draws a salt for that call only.

The number is the first 8 bytes of the HMAC, big-endian, shifted right by one bit. ``attempt`` is 0, unless two
students of the class draw the same pair: then the one whose attempt-0 number is larger (then whose id sorts later)
draws again with attempt 1, 2, ... So a pseudonym changes only in the rare class where a newcomer draws it first. A
course that adds a secret, or changes it, gives everyone new pseudonyms.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import statistics
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable, Union

from grader.models import ProblemResult, Status, SubmissionResult

if TYPE_CHECKING:
    from grader.models import Assignment, ProblemSpec
    from grader.variants import Secret

SHOWN_DIGITS = 4  #: significant digits a board shows, and ranks on
ORDER_TEXT = {"asc": "lower is better", "desc": "higher is better"}
_AGGREGATES = {"mean": statistics.fmean, "median": statistics.median, "min": min, "max": max, "sum": math.fsum}

ADJECTIVES = (
    "agile", "amber", "azure", "bold", "brave", "breezy", "bright", "brisk", "calm", "candid", "cheerful", "clever",
    "cobalt", "coral", "cosmic", "crimson", "curious", "dapper", "daring", "dashing", "eager", "earnest", "electric",
    "emerald", "fearless", "festive", "frosty", "gallant", "gentle", "gleaming", "glowing", "golden", "graceful",
    "happy", "hardy", "hazel", "honest", "humble", "indigo", "ivory", "jade", "jolly", "jovial", "keen", "kind",
    "lilac", "lively", "lucky", "lunar", "magnetic", "maple", "mellow", "merry", "mighty", "misty", "modest", "mossy",
    "nifty", "nimble", "noble", "olive", "opal", "patient", "peppy", "plucky", "plum", "polar", "proud", "quick",
    "quiet", "radiant", "rapid", "rosy", "ruby", "rustic", "sage", "sandy", "scarlet", "serene", "silver", "sleek",
    "snowy", "solar", "spirited", "steady", "stellar", "sturdy", "sunny", "swift", "teal", "tidy", "topaz",
    "tranquil", "upbeat", "valiant", "velvet", "vivid", "warm", "wise", "witty", "zesty", "zippy",
)
ANIMALS = (
    "albatross", "alpaca", "antelope", "badger", "beaver", "bison", "bobcat", "buffalo", "camel", "capybara",
    "caribou", "cheetah", "chinchilla", "condor", "cougar", "coyote", "crane", "dingo", "dolphin", "dormouse", "eagle",
    "egret", "elk", "emu", "falcon", "ferret", "finch", "flamingo", "fox", "gazelle", "gecko", "gibbon", "giraffe",
    "gopher", "hedgehog", "heron", "hippo", "ibex", "ibis", "iguana", "impala", "jackal", "jaguar", "kestrel",
    "kingfisher", "koala", "kudu", "lemur", "leopard", "llama", "lynx", "macaw", "manatee", "marmot", "meerkat",
    "mink", "mongoose", "moose", "narwhal", "newt", "ocelot", "octopus", "orca", "osprey", "otter", "owl", "panda",
    "panther", "pelican", "penguin", "pheasant", "platypus", "puffin", "quail", "quokka", "rabbit", "raccoon",
    "raven", "reindeer", "robin", "salamander", "seal", "sparrow", "squirrel", "stork", "swan", "tapir", "tiger",
    "toucan", "turtle", "walrus", "wolf", "wombat", "yak", "zebra",
)


# --------------------------------------------------------------------------- pseudonyms


#: what keys the pseudonyms: the course secret, or an output folder's leaderboard salt (bytes)
Key = Union["Secret", bytes]
SALT_BYTES = 32  #: the length of a leaderboard salt


def new_salt() -> bytes:
    """A fresh random leaderboard salt (the gradebook keeps one per output folder)."""
    return secrets.token_bytes(SALT_BYTES)


def _draw(assignment: str, student: str, key: Key, attempt: int) -> int:
    if isinstance(key, (bytes, bytearray)):
        if len(key) < 16:
            raise ValueError("a leaderboard salt needs at least 16 bytes")
        text = f"leaderboard/{assignment}/{student}/{attempt}".encode("utf-8")
        return int.from_bytes(hmac.new(bytes(key), text, hashlib.sha256).digest()[:8], "big") >> 1
    if key is None:
        raise TypeError("pseudonyms need a key: the course secret or a leaderboard salt")
    return key.derive("leaderboard", assignment, student, str(attempt))


def pseudonym(assignment: str, student: str, key: Key, attempt: int = 0) -> str:
    """``student``'s pseudonym in ``assignment`` (an id) under ``key`` (the course secret or a leaderboard salt),
    before any collision is resolved (see the module's text)."""
    n = _draw(assignment, student, key, attempt)
    return f"{ADJECTIVES[n % len(ADJECTIVES)]}-{ANIMALS[(n // len(ADJECTIVES)) % len(ANIMALS)]}"


def pseudonyms(assignment: str, students: Iterable[str], key: Key) -> dict[str, str]:
    """Every student's pseudonym in ``assignment`` under ``key``, all different: a student who draws a pair already
    taken by a student with a smaller number (attempt 0) draws again."""
    taken: dict[str, str] = {}
    out: dict[str, str] = {}
    for student in sorted(set(students), key=lambda s: (_draw(assignment, s, key, 0), s)):
        attempt = 0
        name = pseudonym(assignment, student, key)
        while name in taken:
            attempt += 1
            name = pseudonym(assignment, student, key, attempt)
        taken[name] = student
        out[student] = name
    return out


# --------------------------------------------------------------------------- one student's value


def shown(value: float) -> str:
    """A board's value as shown (and ranked): four significant digits."""
    return f"{value:.{SHOWN_DIGITS}g}"


def label(spec: Any) -> str:
    return spec.label or spec.metric


@dataclass(frozen=True)
class Standing:
    """One student on one board: their value and rank, or why they are off the board."""

    student: str
    pseudonym: str
    value: float | None  #: the aggregate of the metric; None when off the board
    rank: int | None = None  #: 1 is the best; None when off the board
    reason: str = ""  #: why the student is off the board (a sentence their report shows); "" when on it
    why: str = ""  #: the reason's kind, for the class's tally (e.g. "did not pass the timing check on every case")

    @property
    def ranked(self) -> bool:
        return self.rank is not None


def value_of(spec: Any, problem: ProblemResult | None) -> tuple[float | None, str, str]:
    """The board's value for one student's result on its problem, or None with the reason (a sentence) and its
    kind: only a check that passed on every case counts, and each case's data must hold a finite number."""
    check = spec.check
    results = [c for c in (problem.checks if problem is not None else []) if c.check == check and c.kind == "check"]
    if not results:
        return None, f"the {check} check was not graded", "not graded"
    if not all(c.graded for c in results):
        return None, f"the {check} check could not be graded on this machine yet (the next run grades it)", \
            "not graded"
    passed = sum(c.status is Status.PASSED for c in results)
    if passed < len(results):
        return None, (f"only runs that passed count, and the {check} check passed on {passed} of its "
                      f"{len(results)} case{'s' if len(results) != 1 else ''}"), \
            f"did not pass the {check} check on every case"
    values = []
    for c in results:
        found = (c.data or {}).get(spec.metric)
        if isinstance(found, bool) or not isinstance(found, (int, float)) or not math.isfinite(found):
            where = f" for case {c.case}" if c.case else ""
            return None, f"the {check} check's data holds no number {spec.metric!r}{where}", \
                f"no number {spec.metric!r} in the {check} check's data"
        values.append(float(found))
    return float(_AGGREGATES[spec.aggregate](values)), "", ""


def _problem(result: SubmissionResult, problem_id: str) -> ProblemResult | None:
    return next((p for p in result.problems if p.problem == problem_id), None)


# --------------------------------------------------------------------------- the class's boards


@dataclass(frozen=True)
class Board:
    """One problem's board: every student of the class, the ranked first (best first), then those off it."""

    problem: str
    title: str
    spec: Any  #: the problem's LeaderboardModel
    standings: list[Standing]
    notes: tuple[str, ...] = ()  #: for the staff, e.g. a metric that no passing run's data holds (a typo?)

    @property
    def label(self) -> str:
        return label(self.spec)

    @property
    def order(self) -> str:
        return self.spec.order

    @property
    def ranked(self) -> list[Standing]:
        return [s for s in self.standings if s.ranked]

    @property
    def off(self) -> list[Standing]:
        return [s for s in self.standings if not s.ranked]

    def of(self, student: str) -> Standing | None:
        return next((s for s in self.standings if s.student == student), None)


def rank(values: dict[str, float], order: str, names: dict[str, str]) -> list[tuple[str, int]]:
    """(student, rank) best first: competition ranks on the values as shown; ties listed by pseudonym."""
    key = {s: float(shown(v)) for s, v in values.items()}
    sign = 1.0 if order == "asc" else -1.0
    ordered = sorted(values, key=lambda s: (sign * key[s], names[s], s))
    out: list[tuple[str, int]] = []
    for i, s in enumerate(ordered):
        same = i > 0 and key[s] == key[ordered[i - 1]]
        out.append((s, out[-1][1] if same else i + 1))
    return out


def board_problems(assignment: "Assignment | None") -> list["ProblemSpec"]:
    """The assignment's problems that declare a leaderboard, in its order."""
    return [p for p in getattr(assignment, "problems", ()) if getattr(p, "leaderboard", None) is not None]


def metric_line(problem: "ProblemSpec") -> int | None:
    """The line of the problem's spec that names its ``leaderboard.metric`` (None when it cannot be read)."""
    from grader.spec.yamlnodes import load_located

    try:
        return load_located(problem.source).line_of(["leaderboard", "metric"])
    except Exception:  # noqa: BLE001 - the spec loaded once; a file changed since only loses the line
        return None


def metric_issues(problem: "ProblemSpec", result: ProblemResult) -> list[str]:
    """What is wrong with ``problem``'s ``leaderboard.metric`` given its reference's graded ``result`` (what
    ``grader validate`` grades): each case of the board's check whose data holds no finite number under the metric,
    with the keys it does hold. Empty when the problem declares no board, or its reference did not pass the check
    on every case (validation reports that, and the data of a failed case proves nothing)."""
    spec = getattr(problem, "leaderboard", None)
    results = [c for c in result.checks if c.check == spec.check and c.kind == "check"] if spec else []
    if not results or not all(c.status is Status.PASSED for c in results):
        return []
    lacking: dict[str, list[str]] = {}  # the keys the data has -> the cases whose data lacks the metric
    for c in results:
        found = (c.data or {}).get(spec.metric)
        if isinstance(found, bool) or not isinstance(found, (int, float)) or not math.isfinite(found):
            lacking.setdefault(", ".join(sorted(c.data or {})) or "nothing", []).append(c.case or "")
    out = []
    for has, cases in lacking.items():
        named = [c for c in cases if c]
        where = f" for case{'s' if len(named) > 1 else ''} {', '.join(named)}" if named else ""
        out.append(f"the reference's {spec.check} check holds no number {spec.metric!r} in its result data{where} "
                   f"(its data has: {has})")
    return out


def boards(assignment: "Assignment | None", results: list[SubmissionResult], secret: "Secret | None" = None,
           salt: bytes | None = None) -> list[Board]:
    """The boards of ``assignment``'s problems that declare one and were graded for someone, over ``results`` (one
    per student). The pseudonyms are keyed by the course ``secret`` when there is one, else by the output folder's
    leaderboard ``salt`` (the gradebook's); given neither, by a salt drawn for this call only."""
    graded = {p.problem for r in results for p in r.problems}
    problems = [p for p in board_problems(assignment) if p.id in graded]
    if not problems:
        return []
    key: Key = secret if secret is not None else salt if salt is not None else new_salt()
    names = pseudonyms(assignment.id, (r.student for r in results), key)
    out = []
    for problem in problems:
        spec = problem.leaderboard
        values: dict[str, float] = {}
        off: list[Standing] = []
        keys: set[str] = set()  # the data keys of passing runs without the metric
        for r in results:
            mine = _problem(r, problem.id)
            value, reason, why = value_of(spec, mine)
            if value is None:
                off.append(Standing(r.student, names[r.student], None, None, reason, why))
                if why.startswith("no number"):
                    keys |= {k for c in mine.checks if c.check == spec.check for k in (c.data or {})}
            else:
                values[r.student] = value
        ranked = [Standing(s, names[s], values[s], place) for s, place in rank(values, spec.order, names)]
        off.sort(key=lambda s: s.pseudonym)
        missing = sum(s.why.startswith("no number") for s in off)
        line = metric_line(problem) if missing else None
        where = f":{line}" if line else ""
        notes = (f"{missing} run(s) passed the {spec.check} check but its data holds no number {spec.metric!r} (its "
                 f"data has: {', '.join(sorted(keys)) or 'nothing'}): is leaderboard.metric in "
                 f"{problem.source.name}{where} right? (grader validate checks it)",) if missing else ()
        out.append(Board(problem.id, problem.title, spec, ranked + off, notes))
    return out


# --------------------------------------------------------------------------- Gradescope


@dataclass(frozen=True)
class Off:
    """A board a Gradescope run does not count on, and why (for a place students see only once the results are
    published: the reason may follow from the hidden cases)."""

    name: str  #: the board's name (its label)
    problem: str
    reason: str  #: the sentence a student's report gives
    why: str  #: the reason's kind


@dataclass(frozen=True)
class GradescopeBoards:
    entries: list[dict]  #: Gradescope's ``leaderboard`` array: one ``{"name", "value", "order"}`` per board counted
    lines: list[str]  #: a line per board for the always-visible output: never a word on a hidden case's result
    off: list[Off]  #: the boards the run does not count on, with the reason


def gradescope_entries(assignment: "Assignment | None", result: SubmissionResult) -> GradescopeBoards | None:
    """Gradescope's ``leaderboard`` array for one submission (``{"name", "value", "order"}`` per board the run
    qualifies for: Gradescope ranks them and shows the pseudonyms students choose there), a line per board for the
    results' visible output, and the boards it does not count on with why; None when no problem graded here
    declares a board.

    The visible line says only whether the run counts (and its value when it does: Gradescope's own board shows it
    anyway), never why not: the reason (e.g. "passed on 1 of its 2 cases") can tell the result of a hidden case
    before the results are published, so it goes in :attr:`GradescopeBoards.off`, for a place that is hidden until
    then."""
    graded = {p.problem for p in result.problems}
    problems = [p for p in board_problems(assignment) if p.id in graded]
    if not problems:
        return None
    labels = [label(p.leaderboard) for p in problems]
    entries, lines, off = [], [], []
    for problem, name in zip(problems, labels):
        spec = problem.leaderboard
        if labels.count(name) > 1:
            name = f"{name} ({problem.id})"
        value, reason, why = value_of(spec, _problem(result, problem.id))
        if value is None:
            lines.append(f"Leaderboard, {name}: this run does not count on the board (why is shown with the "
                         f"results once they are published).")
            off.append(Off(name, problem.id, reason, why))
            continue
        entries.append({"name": name, "value": float(shown(value)), "order": spec.order})
        lines.append(f"Leaderboard, {name}: {shown(value)} ({ORDER_TEXT[spec.order]}; the {spec.aggregate} over the "
                     f"{spec.check} check's cases).")
    return GradescopeBoards(entries, lines, off)
