"""Report parts: the pieces a kit adds to the reports, as plain typed data the engine's templates render.

A kit registers builders (``grader.kit.Kit.report_part`` and ``summary_part``):

- a **report part** builder takes one :class:`~grader.models.ProblemResult` and returns ``list[Part]``, shown
  in the student's report within that problem's section, above its checks;
- a **summary part** builder takes ``(problem_id, results)``, every student's
  :class:`~grader.models.SubmissionResult`, and returns ``list[Part]``, shown in the class summary (each part
  a section, with a link in the page's navigation).

A :class:`Part` is a titled section made of generic pieces: tables of text cells (a cell may carry a status
badge and a small note), line charts and histograms (geometry from :mod:`grader.report.charts`), and
:class:`Card` boxes (a few lines of text, histograms and counts by label). All text is plain text, escaped
when rendered: a part holds no HTML. A builder that raises, or returns something other than parts, does not
break the report: :func:`collect` replaces its parts by one that says it could not be drawn, and prints a
warning on stderr.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterable

from grader.report.charts import Histogram, LineChart
from grader.tracebacks import where as located

NOT_DRAWN = ("This part of the report could not be drawn: the assignment's report code failed (not your "
             "submission); the grader's log says why.")


@dataclass(frozen=True)
class Column:
    title: str
    numeric: bool = False  #: right-aligned, tabular figures


@dataclass(frozen=True)
class Cell:
    text: str = ""
    status: str | None = None  #: a status badge before the text: passed, failed, error, timeout, ...
    note: str | None = None  #: small, muted text after it


@dataclass(frozen=True)
class Row:
    cells: list[Cell]


@dataclass(frozen=True)
class Table:
    columns: list[Column]
    rows: list[Row]
    caption: str | None = None


@dataclass(frozen=True)
class Tally:
    """Counts by label, shown as ``label: a 3, b 1`` with each label as a chip."""

    label: str
    counts: list[tuple[str, int]]


@dataclass(frozen=True)
class Card:
    """A small box among others in a grid (e.g. one per case in the class summary)."""

    title: str
    subtitle: str | None = None  #: small text after the title
    lines: list[str] = field(default_factory=list)  #: muted lines of text under the title
    histograms: list[Histogram] = field(default_factory=list)  #: each labelled by its ``title``
    tallies: list[Tally] = field(default_factory=list)


@dataclass(frozen=True)
class Part:
    """A titled section of a report. Pieces are drawn in this order: text, notes, tables, charts,
    histograms, cards."""

    title: str
    subtitle: str | None = None  #: small text after the title
    text: str | None = None  #: a muted paragraph under the title
    tables: list[Table] = field(default_factory=list)
    charts: list[LineChart] = field(default_factory=list)
    histograms: list[Histogram] = field(default_factory=list)  #: each labelled by its ``title``
    cards: list[Card] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  #: highlighted remarks, e.g. that something is missing
    anchor: str | None = None  #: the section's id, for links (made unique on the page)
    short_title: str | None = None  #: the link's text in the class summary's navigation (default: the title)


# --------------------------------------------------------------------------- checking what a builder made


def _text(value: Any, where: str, optional: bool = False) -> None:
    if not (isinstance(value, str) or (optional and value is None)):
        raise TypeError(f"{where}: expected {'text or None' if optional else 'text'}, got {type(value).__name__}")


def _items(value: Any, kind: type, where: str) -> list:
    if not isinstance(value, (list, tuple)) or not all(isinstance(x, kind) for x in value):
        raise TypeError(f"{where}: expected a list of {kind.__name__}")
    return list(value)


def validate(part: Any) -> Part:
    """``part`` if it is a well-formed :class:`Part` (text where text goes, pieces of the right types);
    else TypeError, so that a builder's mistake is caught before the page is rendered."""
    if not isinstance(part, Part):
        raise TypeError(f"expected a Part, got {type(part).__name__}")
    _text(part.title, "Part.title")
    for name in ("subtitle", "text", "anchor", "short_title"):
        _text(getattr(part, name), f"Part.{name}", optional=True)
    for note in _items(part.notes, str, "Part.notes"):
        _text(note, "Part.notes")
    for table in _items(part.tables, Table, "Part.tables"):
        _text(table.caption, "Table.caption", optional=True)
        for column in _items(table.columns, Column, "Table.columns"):
            _text(column.title, "Column.title")
        for row in _items(table.rows, Row, "Table.rows"):
            if len(_items(row.cells, Cell, "Row.cells")) != len(table.columns):
                raise TypeError(f"a row has {len(row.cells)} cells for {len(table.columns)} columns")
            for cell in row.cells:
                _text(cell.text, "Cell.text")
                _text(cell.status, "Cell.status", optional=True)
                _text(cell.note, "Cell.note", optional=True)
    _items(part.charts, LineChart, "Part.charts")
    _items(part.histograms, Histogram, "Part.histograms")
    for card in _items(part.cards, Card, "Part.cards"):
        _text(card.title, "Card.title")
        _text(card.subtitle, "Card.subtitle", optional=True)
        _items(card.lines, str, "Card.lines")
        _items(card.histograms, Histogram, "Card.histograms")
        for tally in _items(card.tallies, Tally, "Card.tallies"):
            _text(tally.label, "Tally.label")
            for entry in _items(tally.counts, tuple, "Tally.counts"):
                if len(entry) != 2 or not isinstance(entry[0], str) or not isinstance(entry[1], int):
                    raise TypeError("Tally.counts: expected (label, count) pairs")
    return part


def _name(builder: Callable) -> str:
    module = getattr(builder, "__module__", "") or ""
    return f"{module.rsplit('.', 1)[-1]}.{getattr(builder, '__qualname__', repr(builder))}".lstrip(".")


def not_drawn(builder: Callable) -> Part:
    """The part shown in place of a builder's parts when it failed."""
    return Part(f"Not drawn: {getattr(builder, '__name__', 'part')}", notes=[NOT_DRAWN])


def collect(builders: Iterable[Callable[..., Any]], *args: Any, where: str) -> list[Part]:
    """Every builder's parts for ``args``, in order. A builder that raises or returns something other than a
    list of well-formed parts is skipped: a :func:`not_drawn` part stands in for it, and a warning naming the
    builder, ``where`` (e.g. the student and problem) and the error goes to stderr."""
    parts: list[Part] = []
    for builder in builders:
        try:
            made = builder(*args)
            if made is None:
                made = []
            if not isinstance(made, (list, tuple)):
                raise TypeError(f"expected a list of parts, got {type(made).__name__}")
            made = [validate(part) for part in made]
        except Exception as exc:  # noqa: BLE001 - the report goes on without this part
            print(f"warning: report part {_name(builder)} could not be drawn ({where}): "
                  f"{located(exc)}{type(exc).__name__}: {exc}", file=sys.stderr)
            parts.append(not_drawn(builder))
            continue
        parts.extend(made)
    return parts


_ID_CHARS = re.compile(r"[^A-Za-z0-9_-]+")


def with_anchors(parts: list[Part], taken: Iterable[str], *, every: bool = False, prefix: str = "part") -> list[Part]:
    """``parts`` with anchors usable as ids on one page: letters, digits, ``-`` and ``_``, none of ``taken``
    (the page's own ids) and no two alike (``a``, ``a-2``, ...). With ``every``, a part without an
    anchor gets one (``part-1``, ...), e.g. for the summary's navigation."""
    used = set(taken)
    out = []
    for i, part in enumerate(parts, 1):
        anchor = _ID_CHARS.sub("-", part.anchor).strip("-") if part.anchor else ""
        if not anchor and not every:
            out.append(replace(part, anchor=None))
            continue
        base = anchor or f"{prefix}-{i}"
        anchor, n = base, 1
        while anchor in used:
            n += 1
            anchor = f"{base}-{n}"
        used.add(anchor)
        out.append(replace(part, anchor=anchor))
    return out


__all__ = ["Card", "Cell", "Column", "Histogram", "LineChart", "Part", "Row", "Table", "Tally", "collect",
           "not_drawn", "validate", "with_anchors"]
