"""The similarity report's files: ``OUT/similarity.csv``, ``OUT/similarity.html`` (groups of students linked by
flagged pairs, then the ranked pairs) and, for each flagged pair, ``OUT/similarity/<a>--<b>-<hash>.html`` (the ids
shortened, and a hash of the pair, so that no two pairs share a page), the two submissions side by side with the
passages they share highlighted.

The views here are plain data; the pages are Jinja2 templates of :mod:`grader.report` (``similarity.html``,
``similarity_pair.html``), autoescaped, without script, under the reports' Content-Security-Policy. Every page is
worded as evidence to review, never as a verdict.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from grader.output.inert_csv import writer
from grader.report.render import render, write_page
from grader.similarity.fingerprints import K, MAX_CODE_CHARS, MAX_CODE_TOKENS, WINDOW, Document
from grader.similarity.index import CLEAR, FULL_EVIDENCE, FUNCTION_FULL, FUNCTION_HELD, FUNCTION_MIN, MODERATE
from grader.similarity.ranking import Pair
from grader.similarity.signals import MIN_ANSWER_WORDS

if TYPE_CHECKING:
    from grader.similarity import SimilarityReport

CSV_NAME = "similarity.csv"
HTML_NAME = "similarity.html"
PAIRS_DIR = "similarity"
MAX_ROWS = 200  #: pairs listed on similarity.html (every flagged pair, then the highest others); the CSV has all
COLOURS = 6  #: highlight colours cycled through the passages of a pair
CSV_HEADER = ["student_a", "student_b", "combined", "flagged", "code", "code_containment", "code_shared",
              "code_fingerprints_a", "code_fingerprints_b", "code_function", "code_function_detail", "values",
              "values_cases", "slips", "slips_shared", "answers", "answers_shared", "group", "page"]


def _number(value: float) -> str:
    return f"{value:.3f}"


def _group_of(report: "SimilarityReport") -> dict[str, int]:
    """Student -> the number of the group they belong to (students in no group are left out)."""
    return {s: g.number for g in report.groups for s in g.students}


def write_csv(report: "SimilarityReport", path: Path) -> Path:
    """Every pair sharing any evidence, ranked: each signal's strength and what it counts, the combined score."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".csv.tmp")
    groups = _group_of(report)
    with tmp.open("w", newline="", encoding="utf-8") as fh:
        out = writer(fh)
        out.writerow(CSV_HEADER)
        for p in report.pairs:
            s = p.scores
            out.writerow([p.a, p.b, _number(p.combined), "yes" if p.flagged else "no", _number(s["code"]),
                          _number(p.code.containment), p.code.shared, p.code.size_a, p.code.size_b,
                          _number(p.function_score), p.function.label if p.function is not None else "",
                          _number(s["values"]), len(p.evidence.get("values", [])), _number(s["slips"]),
                          len(p.evidence.get("slips", [])), _number(s["answers"]), len(p.evidence.get("answers", [])),
                          groups.get(p.a, "") if p.flagged else "", f"{PAIRS_DIR}/{p.slug}" if p.flagged else ""])
    tmp.replace(path)
    return path


# ---------------------------------------------------------------------------------------------- side by side

@dataclass(frozen=True)
class CodeLine:
    number: int
    text: str
    passage: int | None  #: the shared passage the line belongs to (its number, from 1), or None
    colour: int = 0
    common: bool = False  #: both hold the line's code, but so do many others (or the starter): not counted


@dataclass(frozen=True)
class Passage:
    number: int
    colour: int
    unit_a: str
    unit_b: str
    lines_a: tuple[int, int]
    lines_b: tuple[int, int]
    fingerprints: int


@dataclass
class PairView:
    pair: Pair
    passages: list[Passage]
    code_a: list[CodeLine]
    code_b: list[CodeLine]
    file_a: str
    file_b: str
    evidence: dict[str, list] = field(default_factory=dict)
    scores: dict[str, float] = field(default_factory=dict)
    cut_a: str = ""  #: how much of a's code was compared, when not all of it
    cut_b: str = ""
    group: int | None = None  #: the group both belong to, if any


def _cut_note(doc: Document | None, text: str) -> str:
    if doc is None or not doc.truncated:
        return ""
    lines = text[:doc.compared_chars].count("\n")
    return (f"only its first {doc.compared_chars:,} characters ({lines:,} lines) of {doc.total_chars:,} were compared "
            "and are shown")


def _lines(text: str, marks: dict[int, int], colours: dict[int, int], common: set[int]) -> list[CodeLine]:
    lines = text.splitlines() or [""]
    return [CodeLine(n, line, marks.get(n), colours.get(marks.get(n, -1), 0), n in common and n not in marks)
            for n, line in enumerate(lines, 1)]


def _common_lines(doc: Document | None, hashes: set[int]) -> set[int]:
    lines: set[int] = set()
    for h in hashes if doc is not None else ():
        for place in doc.places.get(h, []):
            lines.update(range(place.first_line, place.last_line + 1))
    return lines


def pair_view(report: "SimilarityReport", pair: Pair) -> PairView:
    """The two submissions' code with the passages their shared own fingerprints fall in, numbered in the order
    they come in the first student's file."""
    index = report.index
    a_doc, b_doc = index.docs.get(pair.a), index.docs.get(pair.b)
    groups: dict[tuple[int, int], tuple[set[int], set[int], set[int]]] = {}
    if a_doc is not None and b_doc is not None:
        for h in index.own.get(pair.a, set()) & index.own.get(pair.b, set()):
            for pa in a_doc.places[h]:
                for pb in b_doc.places[h]:
                    lines_a, lines_b, hashes = groups.setdefault((pa.unit, pb.unit), (set(), set(), set()))
                    lines_a.update(range(pa.first_line, pa.last_line + 1))
                    lines_b.update(range(pb.first_line, pb.last_line + 1))
                    hashes.add(h)
    ordered = sorted(groups.items(), key=lambda kv: (min(kv[1][0]), min(kv[1][1])))
    passages: list[Passage] = []
    marks_a: dict[int, int] = {}
    marks_b: dict[int, int] = {}
    for number, ((ua, ub), (lines_a, lines_b, hashes)) in enumerate(ordered, 1):
        passages.append(Passage(number, (number - 1) % COLOURS, a_doc.units[ua].name or "(code)",
                                b_doc.units[ub].name or "(code)", (min(lines_a), max(lines_a)),
                                (min(lines_b), max(lines_b)), len(hashes)))
        for line in lines_a:
            marks_a.setdefault(line, number)
        for line in lines_b:
            marks_b.setdefault(line, number)
    colours = {p.number: p.colour for p in passages}
    both = (a_doc.hashes & b_doc.hashes) - index.own.get(pair.a, set()) if a_doc and b_doc else set()
    sub_a, sub_b = report.submitted[pair.a], report.submitted[pair.b]
    full_a = sub_a.source.text if sub_a.source else ""
    full_b = sub_b.source.text if sub_b.source else ""
    text_a = full_a[:a_doc.compared_chars] if a_doc is not None else full_a
    text_b = full_b[:b_doc.compared_chars] if b_doc is not None else full_b
    groups = _group_of(report)
    return PairView(pair, passages, _lines(text_a, marks_a, colours, _common_lines(a_doc, both)),
                    _lines(text_b, marks_b, colours, _common_lines(b_doc, both)),
                    sub_a.source.filename if sub_a.source else "(no code)",
                    sub_b.source.filename if sub_b.source else "(no code)",
                    {s: sorted(pair.evidence.get(s, []), key=lambda e: e.item.label) for s in ("values", "slips",
                                                                                               "answers")},
                    pair.scores, _cut_note(a_doc, full_a), _cut_note(b_doc, full_b), groups.get(pair.a))


# ---------------------------------------------------------------------------------------------- the pages

@dataclass(frozen=True)
class Row:
    rank: int
    pair: Pair
    scores: dict[str, float]
    link: str | None
    group: int | None = None


@dataclass(frozen=True)
class GroupView:
    number: int
    summary: str
    students: list[str]
    rows: list[Row]
    note: str = ""


def _context(report: "SimilarityReport") -> dict[str, object]:
    explained = report.explained
    return {"k": K, "window": WINDOW, "guarantee": K + WINDOW - 1, "cut": report.index.cut,
            "common_fraction": report.index.fraction, "rare": report.index.rare,
            "common": len(report.index.common), "full_evidence": FULL_EVIDENCE, "threshold": report.threshold,
            "moderate": MODERATE, "clear_at": CLEAR, "function_min": FUNCTION_MIN, "function_full": FUNCTION_FULL,
            "function_held": FUNCTION_HELD, "max_code_chars": MAX_CODE_CHARS, "max_code_tokens": MAX_CODE_TOKENS,
            "min_answer_words": MIN_ANSWER_WORDS, "starter": [str(p) for p in report.starter.files],
            "starter_answers": [str(p) for p in report.starter.answer_files],
            "students": len(report.students), "read": len(report.index.docs), "unread": sorted(report.unread.items()),
            "truncated": [(s, d.compared_chars, d.total_chars) for s, d in report.truncated.items()],
            "stubs": sum(len(p) for p in explained.stubs.values()), "prompts": len(explained.prompts),
            "assignment_problem": report.assignment.problem,
            "submissions": str(report.submissions_dir), "pairs": len(report.pairs),
            "flagged": len(report.flagged), "groups": len(report.groups)}


def write_pages(report: "SimilarityReport", out_dir: Path) -> list[Path]:
    """``similarity.html`` and one side-by-side page per flagged pair; returns their paths."""
    context = _context(report)
    flagged = report.flagged
    shown = flagged + [p for p in report.pairs if not p.flagged][:max(0, MAX_ROWS - len(flagged))]
    rank = {id(p): n for n, p in enumerate(report.pairs, 1)}
    groups = _group_of(report)

    def row(p: Pair) -> Row:
        return Row(rank[id(p)], p, p.scores, f"{PAIRS_DIR}/{p.slug}" if p.flagged else None,
                   groups.get(p.a) if p.flagged else None)

    rows = [row(p) for p in sorted(shown, key=lambda p: rank[id(p)])]
    group_views = [GroupView(g.number, g.summary, g.students, [row(p) for p in g.pairs], g.note)
                   for g in report.groups]
    pages = [write_page(out_dir / HTML_NAME, render("similarity.html", view=context, rows=rows,
                                                    groups=group_views))]
    folder = out_dir / PAIRS_DIR
    if folder.is_dir():  # pages of pairs an earlier run flagged and this one does not: gone
        current = {p.slug for p in flagged}
        for old in folder.glob("*.html"):
            if old.name not in current and old.is_file() and not old.is_symlink():
                old.unlink()
    for pair in flagged:
        pages.append(write_page(folder / pair.slug, render("similarity_pair.html", view=context,
                                                            pair=pair_view(report, pair), rank=rank[id(pair)])))
    return pages


def write_report(report: "SimilarityReport", out_dir: Path) -> list[Path]:
    """Write the CSV, the ranked page and the flagged pairs' pages into ``out_dir``; returns what was written."""
    out_dir = Path(out_dir)
    written = [write_csv(report, out_dir / CSV_NAME)] + write_pages(report, out_dir)
    report.written = written
    return written
