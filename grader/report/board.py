"""What the pages show of the leaderboards (:mod:`grader.leaderboard`).

- The class summary (``OUT/index.html``, the staff's page: it already lists every student) shows each board in
  full: rank, pseudonym, value, and the student's id linked to their report; then how many students are off the
  board and why.
- A student's report shows their own pseudonym and rank (or why they are off the board) and the top of the board
  with their own row, under pseudonyms only: never another student's id.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from grader.leaderboard import ORDER_TEXT, Board, shown

TOP = 10  #: rows of the board a student's report shows (their own row is added when below them)
SECTION = "leaderboard"  #: the section's id on both pages


@dataclass(frozen=True)
class BoardRow:
    rank: int
    pseudonym: str
    value: str
    student: str = ""  #: the class summary only
    link: str = ""  #: the class summary only: the student's report
    you: bool = False  #: a student's report: their own row


@dataclass(frozen=True)
class BoardView:
    problem: str
    title: str
    label: str
    how: str  #: what is ranked, e.g. "the mean over the timing check's cases; lower is better"
    rows: list[BoardRow]
    ranked: int  #: students on the board
    students: int  #: students of the class
    off: list[tuple[str, int]] = field(default_factory=list)  #: why students are off the board, with how many
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class OwnBoard:
    """One board as a student's report shows it."""

    problem: str
    title: str
    label: str
    how: str
    pseudonym: str
    rank: int | None  #: None when off the board
    ranked: int  #: students on the board
    value: str | None
    reason: str  #: why they are off the board ("" when on it)
    rows: list[BoardRow]  #: the top of the board, and their own row
    gap: bool = False  #: rows are left out between the top and their own row


def _how(board: Board) -> str:
    spec = board.spec
    return (f"the {spec.aggregate} of {spec.metric} over the {spec.check} check's cases, {ORDER_TEXT[spec.order]}; "
            f"only runs where the {spec.check} check passed on every case count")


def class_boards(boards: list[Board], link) -> list[BoardView]:
    """The class summary's boards; ``link(student)`` is the link to a student's report."""
    views = []
    for b in boards:
        rows = [BoardRow(s.rank, s.pseudonym, shown(s.value), s.student, link(s.student)) for s in b.ranked]
        off = Counter(s.why for s in b.off)
        views.append(BoardView(b.problem, b.title, b.label, _how(b), rows, len(rows), len(b.standings),
                               sorted(off.items(), key=lambda kv: (-kv[1], kv[0])), list(b.notes)))
    return views


def own_boards(boards: list[Board], student: str, top: int = TOP) -> list[OwnBoard]:
    """``student``'s boards: their pseudonym and rank, and the top ``top`` rows plus theirs (pseudonyms only)."""
    views = []
    for b in boards:
        me = b.of(student)
        if me is None:
            continue
        ranked = b.ranked
        rows = [BoardRow(s.rank, s.pseudonym, shown(s.value), you=s.student == student)
                for i, s in enumerate(ranked) if i < top or s.student == student]
        place = next((i for i, s in enumerate(ranked) if s.student == student), 0)
        views.append(OwnBoard(b.problem, b.title, b.label, _how(b), me.pseudonym, me.rank, len(ranked),
                              shown(me.value) if me.value is not None else None, me.reason, rows, place > top))
    return views
