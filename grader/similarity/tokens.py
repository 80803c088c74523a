"""Python source as normalised token streams, one per function: what code fingerprints are taken of.

The code is tokenised (:mod:`tokenize`), never parsed nor run, so a file that does not compile is read as far as
its tokens go. What a disguise changes is left out or made uniform:

- comments, blank lines, line breaks inside brackets and docstrings (any string standing as a statement) are
  dropped;
- every identifier becomes ``V`` (renamed variables, functions, arguments and import aliases look the same), except
  keywords, builtins (``range``, ``len``) and attribute names after a dot (``.T``, ``.linalg.eigh``, ``.Linear``:
  the library calls a solution makes, which a renaming leaves as they are);
- every string literal becomes ``S``; numbers, operators and keywords stay; ``;`` counts as a line break, and a
  trailing comma before a closing bracket is dropped (a formatter's choice);
- statements that obviously do nothing are dropped, so that a no-op line inserted after every statement does not
  break every shared passage: ``pass``, a bare constant or expression without a call (``None``, ``0``, ``x``,
  ``a + 1``), ``x = x``, ``x += 0`` (and ``-= 0``, ``*= 1``, ``/= 1``), an assignment to ``_`` of an expression without
  a call, and an assignment of a constant (``tmp = 0``) to a name that nothing in the file reads (:func:`no_ops`).

The stream is cut into **units**: each top-level function or class (with its decorators), each method of a
top-level class, and each run of other top-level statements. Fingerprints never span two units, so functions
written in another order still match (:mod:`grader.similarity.fingerprints`).
"""

from __future__ import annotations

import builtins
import io
import keyword
import tokenize
from dataclasses import dataclass, field

NAME = "V"  #: what every identifier becomes
MODULE_CODE = "(module code)"  #: the name of a unit of top-level statements
STRING = "S"  #: what every string literal becomes
KEEP_NAMES = frozenset(keyword.kwlist) | frozenset(n for n in dir(builtins) if not n.startswith("_"))
_SKIP = {tokenize.COMMENT, tokenize.NL, tokenize.ENCODING, tokenize.ENDMARKER}
_BREAKS = {tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT}
_CLOSING = {")", "]", "}"}
_FSTRING_START = getattr(tokenize, "FSTRING_START", None)  # Python 3.12+: f-strings come in pieces
_FSTRING_END = getattr(tokenize, "FSTRING_END", None)


@dataclass(frozen=True)
class Token:
    text: str  #: the normalised token: V, S, a keyword, a number, an operator, NEWLINE, INDENT, DEDENT
    line: int  #: the line of the source it starts on (1-based)
    end_line: int
    raw: str = ""  #: the token as written (a name's own spelling), for telling no-op statements


@dataclass
class Unit:
    """One function, class, method or run of top-level statements, as normalised tokens."""

    name: str  #: the function's or class's own name ("Class.method"), or MODULE_CODE
    tokens: list[Token] = field(default_factory=list)

    @property
    def first_line(self) -> int:
        return self.tokens[0].line if self.tokens else 0

    @property
    def last_line(self) -> int:
        return self.tokens[-1].end_line if self.tokens else 0


@dataclass
class Tokenised:
    units: list[Unit]
    problem: str | None = None  #: why tokenising stopped early (a syntax error), or None
    stopped_after: int | None = None  #: the last line read when ``max_tokens`` stopped the reading, else None


def raw_tokens(text: str, max_tokens: int | None = None) -> tuple[list[tokenize.TokenInfo], str | None]:
    """The tokens of ``text`` as far as they go, and why they stop early (None when they do not). With
    ``max_tokens``, reading stops at the end of the logical line on which that many tokens were read."""
    found: list[tokenize.TokenInfo] = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            found.append(tok)
            if max_tokens is not None and len(found) >= max_tokens and tok.type == tokenize.NEWLINE:
                break
    except (tokenize.TokenError, SyntaxError, ValueError, RecursionError) as exc:  # IndentationError is a SyntaxError
        line = getattr(exc, "lineno", None) or (exc.args[1][0] if len(exc.args) > 1 else None)
        return found, f"tokens read up to line {line}: {exc.args[0] if exc.args else exc}"
    return found, None


def normalise(text: str, max_tokens: int | None = None) -> Tokenised:
    """``text`` (Python source) as units of normalised tokens (read up to the logical line on which ``max_tokens``
    tokens were read, when given)."""
    raw, problem = raw_tokens(text, max_tokens)
    stopped = raw[-1].end[0] if max_tokens is not None and raw and len(raw) >= max_tokens and problem is None \
        and raw[-1].type == tokenize.NEWLINE else None
    units: list[Unit] = []
    current: Unit | None = None
    depth = 0  #: indentation depth
    class_depth: int | None = None  #: depth of the body of the top-level class being read, if any
    class_name = ""
    previous: tokenize.TokenInfo | None = None  #: the last significant raw token
    at_statement = True  #: the next token starts a logical line
    fstring = 0  #: nesting of Python 3.12 f-string pieces being skipped
    pending_decorators: Unit | None = None
    last_line = 1  #: where the last token other than an indent or a dedent ends
    i = 0
    while i < len(raw):
        tok = raw[i]
        i += 1
        if fstring:
            if tok.type == _FSTRING_START:
                fstring += 1
            elif tok.type == _FSTRING_END:
                fstring -= 1
            continue
        if tok.type in _SKIP:
            continue
        if tok.type == tokenize.INDENT:
            depth += 1
        elif tok.type == tokenize.DEDENT:
            depth -= 1
            if class_depth is not None and depth < class_depth:
                class_depth = None
        if at_statement and tok.type == tokenize.STRING and _stands_alone(raw, i):
            while i < len(raw) and raw[i].type in (tokenize.STRING, tokenize.COMMENT, tokenize.NL):
                i += 1  # implicitly joined docstring pieces
            if i < len(raw) and raw[i].type == tokenize.NEWLINE:
                i += 1
            continue
        if at_statement and tok.type not in _BREAKS:
            in_class = class_depth is not None and depth == class_depth  # a method's (or decorator's) first line
            if (depth == 0 or in_class) and _unit_start(tok, raw, i):
                if tok.string == "@":
                    pending_decorators = pending_decorators or Unit("(decorated)")
                else:
                    name = _defined_name(raw, i - 1)
                    current = pending_decorators or Unit("")
                    current.name = f"{class_name}.{name}" if in_class else name
                    pending_decorators = None
                    units.append(current)
                    if depth == 0:
                        class_depth, class_name = (1, name) if _keyword(tok, raw, i) == "class" else (None, "")
            elif depth == 0 and pending_decorators is None and (current is None or current.name != MODULE_CODE):
                current = Unit(MODULE_CODE)
                units.append(current)
        target = pending_decorators if pending_decorators is not None else current
        text_ = _normalised(tok, previous)
        if tok.type == _FSTRING_START:
            fstring = 1
        if target is not None and text_ is not None:
            if tok.type in (tokenize.INDENT, tokenize.DEDENT):
                # a dedent stands on the next statement's line: keep it with the last statement's
                target.tokens.append(Token(text_, last_line, last_line))
            else:
                if text_ in _CLOSING and target.tokens and target.tokens[-1].text == ",":
                    target.tokens.pop()  # a trailing comma is layout: f(a, b,) is f(a, b)
                target.tokens.append(Token(text_, tok.start[0], tok.end[0], tok.string))
        at_statement = tok.type in _BREAKS or (tok.type == tokenize.OP and tok.string == ";")
        previous = tok
        if tok.type not in (tokenize.INDENT, tokenize.DEDENT):
            last_line = tok.end[0]
    if pending_decorators is not None and pending_decorators.tokens:
        units.append(pending_decorators)
    for unit, tokens in zip(units, no_ops([u.tokens for u in units], _name_counts(raw))):
        unit.tokens = tokens
    return Tokenised([u for u in units if u.tokens], problem, stopped)


# ---------------------------------------------------------------------------------------------- no-op statements

_NO_OP_KEYWORDS = {"None", "True", "False", "and", "or", "not", "in", "is", "if", "else"}
_IDENTITY = {"+=": "0", "-=": "0", "*=": "1", "/=": "1"}
_CONSTANT_TOKENS = {"None", "True", "False", "(", ")", "[", "]", ",", "-", "+", "*", "/", "."}


def _name_counts(raw: list[tokenize.TokenInfo]) -> dict[str, int]:
    """Each name of the file -> how often it occurs (as any NAME token, attributes included): a name assigned a
    constant as often as it occurs is never read."""
    counts: dict[str, int] = {}
    for tok in raw:
        if tok.type == tokenize.NAME:
            counts[tok.string] = counts.get(tok.string, 0) + 1
    return counts


def _statements(tokens: list[Token]):
    """``tokens`` cut into runs: each simple statement with its NEWLINE, and each INDENT or DEDENT on its own."""
    current: list[Token] = []
    for tok in tokens:
        if tok.text in ("INDENT", "DEDENT"):
            if current:
                yield current
                current = []
            yield [tok]
        else:
            current.append(tok)
            if tok.text == "NEWLINE":
                yield current
                current = []
    if current:
        yield current


def _has_call(tokens: list[Token]) -> bool:
    """A call: ``(`` right after a name, a closing bracket or a string (``f(x)``, ``a[0](x)``, ``g()()``)."""
    for before, tok in zip(tokens, tokens[1:]):
        if tok.text == "(" and (before.text in (NAME, STRING, ")", "]") or before.raw.isidentifier()
                                and not keyword.iskeyword(before.raw)):
            return True
    return False


def _plain_expression(tokens: list[Token]) -> bool:
    """Names, numbers, operators and brackets only: no call, no assignment, no keyword with an effect."""
    for tok in tokens:
        if tok.raw in ("=", ":=", "lambda", "yield", "await") or (keyword.iskeyword(tok.raw)
                                                                    and tok.raw not in _NO_OP_KEYWORDS):
            return False
    return not _has_call(tokens)


def _strip_parens(tokens: list[Token]) -> list[Token]:
    while len(tokens) >= 2 and tokens[0].raw == "(" and tokens[-1].raw == ")":
        tokens = tokens[1:-1]
    return tokens


def _is_no_op(statement: list[Token], counts: dict[str, int], assigned: dict[str, int]) -> bool:
    if len(statement) < 2 or statement[-1].text != "NEWLINE":
        return False  # an indent, a dedent, or a statement cut short
    body = statement[:-1]
    raws = [t.raw for t in body]
    if raws == ["pass"] or raws == ["..."]:
        return True
    if body[0].raw in ("@",) or (keyword.iskeyword(body[0].raw) and body[0].raw not in ("None", "True", "False",
                                                                                         "not")):
        return False  # a statement of its own kind (def, return, import, del...) or a decorator
    depth = 0
    split = None
    for n, tok in enumerate(body):
        if tok.raw in ("(", "[", "{"):
            depth += 1
        elif tok.raw in (")", "]", "}"):
            depth -= 1
        elif depth == 0 and (tok.raw == "=" or tok.raw in _IDENTITY or tok.raw.endswith("=") and tok.raw not in
                             ("==", "!=", "<=", ">=")):
            if split is not None:
                return False  # a = b = c, or stranger
            split = n
    if split is None:
        return _plain_expression(body)  # a bare constant or expression: computed and thrown away
    target, op, value = body[:split], body[split].raw, body[split + 1:]
    if not target or not value or _has_call(target):
        return False
    if op == "=" and [t.raw for t in _strip_parens(target)] == [t.raw for t in _strip_parens(value)]:
        return True  # x = x
    if op in _IDENTITY and [t.raw for t in value] == [_IDENTITY[op]]:
        return True  # x += 0, x *= 1
    if op == "=" and len(target) == 1 and target[0].raw == "_" and _plain_expression(value):
        return True  # _ = a + b
    name = _constant_assignment(statement)
    if name is not None and counts.get(name, 0) <= assigned.get(name, 0):
        return True  # tmp = 0, and tmp is never read
    return False


def _constant_assignment(statement: list[Token]) -> str | None:
    """The name a statement assigns a constant to and does nothing else (``tmp = 0``, ``s = "x"``), or None."""
    if len(statement) >= 3 and statement[0].text == NAME and statement[1].raw == "=" and all(
            t.text in (STRING, "NEWLINE") or t.raw in _CONSTANT_TOKENS or t.raw[:1].isdigit() for t in statement[2:]):
        return statement[0].raw
    return None


def no_ops(units: list[list[Token]], counts: dict[str, int] | None = None) -> list[list[Token]]:
    """Each unit's tokens less the statements that obviously do nothing (see the module's docstring). ``counts``: how
    often each name occurs in the whole file (a constant assigned to a name that occurs nowhere else is dead)."""
    counts = counts or {}
    split = [list(_statements(tokens)) for tokens in units]
    assigned: dict[str, int] = {}  # name -> how many statements assign it a constant (and nothing else)
    for statements in split:
        for st in statements:
            name = _constant_assignment(st)
            if name is not None:
                assigned[name] = assigned.get(name, 0) + 1
    return [[tok for st in statements if not _is_no_op(st, counts, assigned) for tok in st] for statements in split]


def _normalised(tok: tokenize.TokenInfo, previous: tokenize.TokenInfo | None) -> str | None:
    if tok.type == tokenize.NAME:
        if tok.string in KEEP_NAMES or (previous is not None and previous.type == tokenize.OP
                                         and previous.string == "."):
            return tok.string
        return NAME
    if tok.type == tokenize.STRING or tok.type == _FSTRING_START:
        return STRING
    if tok.type == tokenize.NEWLINE or (tok.type == tokenize.OP and tok.string == ";"):
        return "NEWLINE"
    if tok.type == tokenize.INDENT:
        return "INDENT"
    if tok.type == tokenize.DEDENT:
        return "DEDENT"
    if tok.type in (tokenize.OP, tokenize.NUMBER):
        return tok.string
    if tok.type == tokenize.ERRORTOKEN:
        return tok.string.strip() or None
    return None


def _stands_alone(raw: list[tokenize.TokenInfo], after: int) -> bool:
    """The string token just before ``raw[after]`` is a whole statement (a docstring or a bare string)."""
    j = after
    while j < len(raw) and raw[j].type in (tokenize.STRING, tokenize.COMMENT, tokenize.NL):
        j += 1
    return j >= len(raw) or raw[j].type in (tokenize.NEWLINE, tokenize.ENDMARKER, tokenize.DEDENT)


def _keyword(tok: tokenize.TokenInfo, raw: list[tokenize.TokenInfo], after: int) -> str:
    """``def`` or ``class`` when the statement starting at ``tok`` defines one (``async def`` too), else ''."""
    if tok.type == tokenize.NAME and tok.string in ("def", "class"):
        return tok.string
    if tok.type == tokenize.NAME and tok.string == "async" and after < len(raw) and raw[after].string == "def":
        return "def"
    return ""


def _unit_start(tok: tokenize.TokenInfo, raw: list[tokenize.TokenInfo], after: int) -> bool:
    return bool(_keyword(tok, raw, after)) or (tok.type == tokenize.OP and tok.string == "@")


def _defined_name(raw: list[tokenize.TokenInfo], at: int) -> str:
    """The name a ``def``/``class`` statement starting at ``raw[at]`` defines ('' for a decorator line)."""
    j = at
    while j < len(raw) and raw[j].type == tokenize.NAME and raw[j].string in ("async", "def", "class"):
        j += 1
    return raw[j].string if j > at and j < len(raw) and raw[j].type == tokenize.NAME else ""
