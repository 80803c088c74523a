"""The import files of the LMSs: Canvas's gradebook CSV, Moodle's CSV grade import, and a plain wide table.

Each function returns the rows (header first) for :func:`grader.output.inert_csv.writer`, which makes every
text cell (names, sections, feedback, titles) inert in a spreadsheet; which student is which comes from the
roster pairs of :func:`grader.export.roster.match` (or the folder names alone, without a roster).

The identifiers an LMS matches students by (Canvas's ID, SIS User ID and SIS Login ID; Moodle's identifier
column) are written exactly as the roster has them, since a leading ``'`` would stop the LMS matching the
student; one that could start a spreadsheet formula is refused instead (:class:`ExportError`, naming every
such roster line). Valid student ids and e-mail addresses start with a letter or a digit, so only a
tampered or broken roster trips it.
"""

from __future__ import annotations

from grader.export.roster import Match, Roster
from grader.export.scores import ClassScores, ExportError, number
from grader.output.inert_csv import formula_start

CANVAS_IDENTITY = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
CANVAS_KEYS = ("ID", "SIS User ID", "SIS Login ID")  #: the identity columns Canvas matches students by
POINTS_POSSIBLE = "    Points Possible"  #: Canvas's second row starts so (four spaces), as in its own export
MOODLE_IDENTITY = ("Email address", "ID number")  #: roster columns Moodle can match users by, preferred first
MOODLE_NO_ROSTER = "Username"  #: the identifier column without a roster: the folder names


def _grades(scores: ClassScores, student: str | None, per_problem: bool) -> list[str]:
    """The total (and per-problem scores); empty cells for a roster entry without a submission."""
    columns = 1 + (len(scores.problems) if per_problem else 0)
    if student is None:
        return [""] * columns
    s = scores.students[student]
    cells = [number(s.total)]
    if per_problem:
        cells += [number(s.scores[p]) if p in s.scores else "" for p in scores.problems]
    return cells


class _Keys:
    """Checks the identifier cells of one export: each is written as is, and any that could start a formula is
    collected, so that :meth:`refuse` names every offending roster line at once."""

    def __init__(self, lms: str, roster: Roster | None) -> None:
        self.lms, self.roster, self.bad = lms, roster, []

    def cell(self, value: str, column: str, pair: Match) -> str:
        char = formula_start(value)
        if char is not None:
            where = (self.roster.describe(pair.entry) if self.roster and pair.entry is not None
                     else f"submission '{pair.student}'")
            self.bad.append(f"{where}: {column} {value!r} starts with {char!r}")
        return value

    def refuse(self) -> None:
        if self.bad:
            raise ExportError(
                f"{len(self.bad)} identifier(s) that {self.lms} matches students by could run as a formula in a "
                f"spreadsheet, and the grader cannot make them inert without breaking {self.lms}'s match (valid "
                "ids and e-mail addresses start with a letter or a digit); fix the roster and export again:\n  "
                + "\n  ".join(self.bad))


def canvas(scores: ClassScores, title: str, pairs: list[Match], key: str, *, per_problem: bool = False,
           roster: Roster | None = None) -> list[list[str]]:
    """Canvas: identity columns, the assignment total (and per-problem columns), a "Points Possible" row.

    A submission without a roster entry gets its folder name as ``key`` (SIS Login ID when ``key`` is not
    one of Canvas's identity columns) and as the student's name.
    """
    header = list(CANVAS_IDENTITY) + [title] + ([f"{title}: {p}" for p in scores.problems] if per_problem else [])
    possible = [POINTS_POSSIBLE, "", "", "", "", number(scores.max_score)]
    if per_problem:
        possible += [number(m) for m in scores.problems.values()]
    rows = [header, possible]
    login = key if key in CANVAS_IDENTITY else "SIS Login ID"
    keys = _Keys("Canvas", roster)
    for pair in pairs:
        if pair.entry is not None:
            identity = [pair.entry.get(c) for c in CANVAS_IDENTITY]
        else:
            identity = [(pair.student or "") if c in ("Student", login) else "" for c in CANVAS_IDENTITY]
        identity = [keys.cell(v, c, pair) if c in CANVAS_KEYS else v for v, c in zip(identity, CANVAS_IDENTITY)]
        rows.append(identity + _grades(scores, pair.student, per_problem))
    keys.refuse()
    return rows


def moodle_identity(roster: Roster | None) -> str:
    """The roster column written as Moodle's identifier: email, else ID number, else the key."""
    if roster is None:
        return MOODLE_NO_ROSTER
    return next((c for c in MOODLE_IDENTITY if c in roster.columns), roster.key)


def moodle(scores: ClassScores, title: str, pairs: list[Match], roster: Roster | None
           ) -> tuple[list[list[str]], list[str]]:
    """Moodle: the identifier, the grade and the feedback; plus warnings for entries with no identifier."""
    ident = moodle_identity(roster)
    rows = [[ident, title, "Feedback"]]
    warnings = []
    keys = _Keys("Moodle", roster)
    for pair in pairs:
        value = keys.cell(pair.entry.get(ident) if pair.entry is not None else pair.student or "", ident, pair)
        if pair.entry is not None and not value and pair.student is not None:
            warnings.append(f"{roster.describe(pair.entry) if roster else pair.student}: empty {ident}; "
                            "Moodle cannot match this row")
        feedback = scores.students[pair.student].feedback if pair.student is not None else ""
        rows.append([value] + _grades(scores, pair.student, False) + [feedback])
    keys.refuse()
    return rows, warnings


def wide(scores: ClassScores, pairs: list[Match], key: str | None) -> list[list[str]]:
    """A plain table: one row per student (folder name), one column per problem, the total and the maximum."""
    rows = [["student", *scores.problems, "total", "max_score"]]
    for pair in pairs:
        name = pair.student if pair.student is not None else (pair.entry.get(key) if pair.entry and key else "")
        if pair.student is None:
            rows.append([name] + [""] * (len(scores.problems) + 1) + [number(scores.max_score)])
            continue
        s = scores.students[pair.student]
        rows.append([name, *(number(s.scores[p]) if p in s.scores else "" for p in scores.problems),
                     number(s.total), number(scores.max_score)])
    return rows
