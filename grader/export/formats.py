"""The import files of the LMSs: Canvas's gradebook CSV, Moodle's CSV grade import, and a plain wide table.

Each function returns the rows (header first) for :func:`csv.writer`; which student is which comes from
the roster pairs of :func:`grader.export.roster.match` (or the folder names alone, without a roster).
"""

from __future__ import annotations

from grader.export.roster import Match, Roster
from grader.export.scores import ClassScores, number

CANVAS_IDENTITY = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
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


def canvas(scores: ClassScores, title: str, pairs: list[Match], key: str, *, per_problem: bool = False
           ) -> list[list[str]]:
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
    for pair in pairs:
        if pair.entry is not None:
            identity = [pair.entry.get(c) for c in CANVAS_IDENTITY]
        else:
            identity = [(pair.student or "") if c in ("Student", login) else "" for c in CANVAS_IDENTITY]
        rows.append(identity + _grades(scores, pair.student, per_problem))
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
    for pair in pairs:
        value = pair.entry.get(ident) if pair.entry is not None else pair.student or ""
        if pair.entry is not None and not value and pair.student is not None:
            warnings.append(f"{roster.describe(pair.entry) if roster else pair.student}: empty {ident}; "
                            "Moodle cannot match this row")
        feedback = scores.students[pair.student].feedback if pair.student is not None else ""
        rows.append([value] + _grades(scores, pair.student, False) + [feedback])
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
