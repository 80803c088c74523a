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
animal chosen by a number derived from the assignment id and the student id:

- with the course secret (grader/variants.py: ``--secret`` or ``GRADER_SECRET_FILE``), HMAC-SHA256 of
  ``leaderboard/{assignment id}/{student id}/{attempt}`` under it (:meth:`Secret.derive`): nobody can tell whose a
  pseudonym is, or compute anyone's, without the secret;
- without it, the first 8 bytes of SHA-256 of ``grader leaderboard/{assignment id}/{student id}/{attempt}``,
  big-endian, shifted right by one bit: stable and unreadable at a glance, but anyone who knows a student's id and
  this rule can compute their pseudonym.

``attempt`` is 0, unless two students of the class draw the same pair: then the one whose attempt-0 number is larger
(then whose id sorts later) draws again with attempt 1, 2, ... So a pseudonym changes only in the rare class where a
newcomer draws it first. A course that adds a secret, or changes it, gives everyone new pseudonyms.
"""

from __future__ import annotations

import hashlib
import math
import statistics
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable

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


def _draw(assignment: str, student: str, secret: "Secret | None", attempt: int) -> int:
    if secret is not None:
        return secret.derive("leaderboard", assignment, student, str(attempt))
    digest = hashlib.sha256(f"grader leaderboard/{assignment}/{student}/{attempt}".encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def pseudonym(assignment: str, student: str, secret: "Secret | None" = None, attempt: int = 0) -> str:
    """``student``'s pseudonym in ``assignment`` (an id) before any collision is resolved (see the module's text)."""
    n = _draw(assignment, student, secret, attempt)
    return f"{ADJECTIVES[n % len(ADJECTIVES)]}-{ANIMALS[(n // len(ADJECTIVES)) % len(ANIMALS)]}"


def pseudonyms(assignment: str, students: Iterable[str], secret: "Secret | None" = None) -> dict[str, str]:
    """Every student's pseudonym in ``assignment``, all different: a student who draws a pair already taken by a
    student with a smaller number (attempt 0) draws again."""
    taken: dict[str, str] = {}
    out: dict[str, str] = {}
    for student in sorted(set(students), key=lambda s: (_draw(assignment, s, secret, 0), s)):
        attempt = 0
        name = pseudonym(assignment, student, secret)
        while name in taken:
            attempt += 1
            name = pseudonym(assignment, student, secret, attempt)
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


def boards(assignment: "Assignment | None", results: list[SubmissionResult],
           secret: "Secret | None" = None) -> list[Board]:
    """The boards of ``assignment``'s problems that declare one and were graded for someone, over ``results`` (one
    per student)."""
    graded = {p.problem for r in results for p in r.problems}
    problems = [p for p in board_problems(assignment) if p.id in graded]
    if not problems:
        return []
    names = pseudonyms(assignment.id, (r.student for r in results), secret)
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
        notes = (f"{missing} run(s) passed the {spec.check} check but its data holds no number {spec.metric!r} (its "
                 f"data has: {', '.join(sorted(keys)) or 'nothing'}): is leaderboard.metric in "
                 f"{problem.source.name} right?",) if missing else ()
        out.append(Board(problem.id, problem.title, spec, ranked + off, notes))
    return out


# --------------------------------------------------------------------------- Gradescope


def gradescope_entries(assignment: "Assignment | None",
                       result: SubmissionResult) -> tuple[list[dict], list[str]] | None:
    """Gradescope's ``leaderboard`` array for one submission (``{"name", "value", "order"}`` per board the run
    qualifies for: Gradescope ranks them and shows the pseudonyms students choose there) and a line per board for
    the results' output; None when no problem graded here declares a board."""
    graded = {p.problem for p in result.problems}
    problems = [p for p in board_problems(assignment) if p.id in graded]
    if not problems:
        return None
    labels = [label(p.leaderboard) for p in problems]
    entries, lines = [], []
    for problem, name in zip(problems, labels):
        spec = problem.leaderboard
        if labels.count(name) > 1:
            name = f"{name} ({problem.id})"
        value, reason, _ = value_of(spec, _problem(result, problem.id))
        if value is None:
            lines.append(f"Leaderboard, {name}: not on the board: {reason}.")
            continue
        entries.append({"name": name, "value": float(shown(value)), "order": spec.order})
        lines.append(f"Leaderboard, {name}: {shown(value)} ({ORDER_TEXT[spec.order]}; the {spec.aggregate} over the "
                     f"{spec.check} check's cases).")
    return entries, lines
