"""The signals only this grader has, read from the gradebook: what two students' code *did*, not how it looks.

The gradebook keeps each check's result per case (status, feedback, diagnosis), not the values a student's
function returned. So:

- **values**: a hidden case on which both students' code failed with *identical feedback* on every failing check,
  no check naming a slip on that case. A failure no slip explains is worded from the value itself: ``equals``
  quotes it ("you returned ['<sos>', 'I', ...]"), ``allclose`` and ``finite_difference`` give its relative error
  to three digits ("relative error 4.75"), shape checks its shape. Identical feedback there means the same wrong
  value, or one within rounding of it. The same feedback on several cases of a problem counts once: it is one
  systematic error (a factor of 2 is "relative error 0.5" on every case), where different wrong values on
  different cases are each evidence. Cases a slip explains are left to the next signal. What a student who did
  not attempt the problem gets is no evidence and is left out (:class:`NoEvidence`): a case on which any check
  errored (a missing function, an exception, a timeout, a crash), feedback any all-zero, empty or constant output
  gets ("relative error 1", "you returned []", "you returned None", a wrong True or False), every failure of a problem
  whose function in the student's code returns a constant whatever its inputs (``return np.zeros_like(x)``: a stub,
  :func:`stub_functions`), and any feedback such a stub got on that case, whoever else gets it.
- **slips**: the same sequence of diagnosed slips, problem by problem in the assignment's order (code checks and
  written questions alike), when it holds at least two.
- **answers**: the same written answer (``answers.yaml``, read with the safe reader), compared with case and
  whitespace ignored, where it is not the reference's (the question passed), not an answer the spec lists as a
  known alternative, and not short (fewer than :data:`MIN_ANSWER_WORDS` words or :data:`MIN_ANSWER_CHARS`
  characters: a number, an option, a token list). A placeholder is no answer: the text of the handout's
  ``answers.yaml`` (given with ``--starter``) and the question's own prompt are taken out of an answer, and what is
  left is compared, if anything.

Each item is weighed by how rare it is: shared by ``h`` students it counts ``1 / (h - 1)`` of its weight for each
pair of them (a slip or answer that only these two have counts in full, one a third student shares half); shared
by more than the common cut (:func:`grader.similarity.index.common_cut`) it is a common mistake and counts
nothing.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

from grader.answers.reader import Answers
from grader.models import NOT_GRADED, Status, SubmissionResult, Visibility

SIGNALS = ("values", "slips", "answers")
MIN_ANSWER_WORDS = 5
MIN_ANSWER_CHARS = 20
MIN_SLIPS = 2  #: an identical sequence of fewer slips is no evidence (one common slip is common)
ANSWER_WEIGHT = 2.0  #: an identical written sentence weighs as two identical wrong values
NOT_SLIPS = {"manual", NOT_GRADED}  #: diagnoses that name no mistake


@dataclass(frozen=True)
class Item:
    """One piece of evidence a student holds: a wrong value, a slip sequence, a written answer."""

    signal: str
    key: tuple
    label: str  #: what it is, in words, for the pages
    weight: float = 1.0
    #: items of one group count once for a pair (the heaviest): the same wrong feedback on several hidden cases of a
    #: problem is one systematic error (a factor of 2 gives "relative error 0.5" on every case), not several
    group: tuple | None = None


@dataclass(frozen=True)
class Evidence:
    """An item two students share, and how many students hold it."""

    item: Item
    holders: int

    @property
    def weight(self) -> float:
        return self.item.weight / (self.holders - 1)


# ---------------------------------------------------------------------------------------------- no evidence

#: a relative error (or distance) of 1 to three digits: what an all-zero output gets, whatever the expected value
_ZERO_OUTPUT = re.compile(r"(relative error|distance) 1(?![0-9.e])")
_RETURNED = re.compile(r"you returned (.*?)(?:, expected |\)$|$)", re.DOTALL)
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?|nan|inf", re.IGNORECASE)
#: calls that make a constant array (whatever their shape arguments): a stub's return value
_FILLERS = {"zeros", "ones", "empty", "zeros_like", "ones_like", "empty_like", "eye", "identity"}
_FILLED = {"full", "full_like"}  #: ... with a fill value, which must be constant
_LITERAL = {"array", "asarray", "tensor", "as_tensor", "float", "int", "bool", "list", "tuple", "dict", "str",
            "float32", "float64", "int64"}  #: calls that are constant when their arguments are
_CONVERSIONS = {"numpy", "copy", "astype", "float", "double", "detach", "cpu", "tolist", "reshape", "clone", "item"}


def _flat(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [x for v in value.values() for x in _flat(v)]
    if isinstance(value, (list, tuple, set, frozenset)):
        return [x for v in value for x in _flat(v)]
    return [value]


def _constant_value(value: Any) -> bool:
    """Nothing, zero, empty, a boolean, or the same element throughout (what a stub returns)."""
    if value is None or isinstance(value, bool):
        return True
    if isinstance(value, (int, float, complex)):
        return value == 0
    if isinstance(value, (str, bytes)):
        return not value.strip()
    flat = _flat(value)
    return len(flat) == 0 or all(_constant_value(x) for x in flat) or (len(flat) > 1 and all(
        type(x) is type(flat[0]) and x == flat[0] for x in flat))


def constant_feedback(feedback: str) -> bool:
    """Feedback any all-zero, empty or constant output gets: no evidence that two students share anything."""
    if _ZERO_OUTPUT.search(feedback):
        return True
    found = _RETURNED.search(feedback)
    if found is None:
        return False
    shown = found.group(1).strip()
    try:
        return _constant_value(ast.literal_eval(shown))
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        pass
    if re.match(r"^(array|tensor)\(", shown) and not shown.endswith("..."):
        numbers = _NUMBER.findall(shown.split("dtype=")[0])
        return bool(numbers) and len(set(float(n) for n in numbers)) == 1
    return False


def _constant_expression(node: ast.AST) -> bool:
    """An expression whose value cannot depend on the function's inputs (beyond their shapes)."""
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return all(_constant_expression(e) for e in node.elts)
    if isinstance(node, ast.Dict):
        return all(k is None or _constant_expression(k) for k in node.keys) and all(
            _constant_expression(v) for v in node.values)
    if isinstance(node, ast.UnaryOp):
        return _constant_expression(node.operand)
    if isinstance(node, ast.BinOp):
        return _constant_expression(node.left) and _constant_expression(node.right)
    if isinstance(node, ast.Call):
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        if name in _FILLERS:
            return True
        if name in _FILLED:
            fill = node.args[1] if len(node.args) > 1 else next(
                (k.value for k in node.keywords if k.arg == "fill_value"), None)
            return fill is not None and _constant_expression(fill)
        if isinstance(func, ast.Attribute) and name in _CONVERSIONS and _constant_expression(func.value):
            return True
        if name in _LITERAL:
            return all(_constant_expression(a) for a in node.args)
    return False


def _returns(node: ast.AST):
    """The return statements of a function, not of the functions and classes defined inside it."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.Return):
            yield child
        if not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            yield from _returns(child)


def stub_functions(text: str, names: set[str] | None = None) -> set[str]:
    """The top-level functions of ``text`` (those in ``names``, when given) whose every ``return`` gives a constant
    (``return np.zeros_like(x)``, ``return None``, ``return 0.0``) or that return nothing: what is left of the
    handout's stub, whatever else they compute. Parsed, never run; a file that does not parse has none."""
    if names is not None and not any(name in text for name in names):
        return set()
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return set()
    found = set()
    for node in tree.body:
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) or (names is not None
                                                                               and node.name not in names):
            continue
        try:
            constants = _constant_names(node)
            if all(r.value is None or _constant_expression(r.value) or (isinstance(r.value, ast.Name)
                                                                         and r.value.id in constants)
                   for r in _returns(node)) and not any(isinstance(n, (ast.Yield, ast.YieldFrom))
                                                        for n in ast.walk(node)):
                found.add(node.name)
        except RecursionError:
            continue
    return found


def _constant_names(fn: ast.AST) -> set[str]:
    """The local names of a function only ever assigned a constant expression (by plain ``=``), and never changed in
    place nor handed to a call (``out = np.zeros_like(x)``, then ``return out``)."""
    values: dict[str, list[ast.AST]] = {}
    stores: dict[str, int] = {}
    changed: set[str] = set()
    for node in ast.walk(fn):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    values.setdefault(target.id, []).append(node.value)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            stores[node.id] = stores.get(node.id, 0) + 1  # loop, with, unpacking and augmented targets too
        elif isinstance(node, (ast.Subscript, ast.Attribute)) and isinstance(node.ctx, (ast.Store, ast.Del)):
            base = node.value
            while isinstance(base, (ast.Subscript, ast.Attribute)):
                base = base.value
            if isinstance(base, ast.Name):
                changed.add(base.id)  # out[i] = ..., out.data = ...
        elif isinstance(node, ast.Call):
            func = node.func  # out.fill(1), np.copyto(out, x): anything called on it or with it
            if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
                changed.add(func.value.id)
            changed.update(a.id for a in node.args if isinstance(a, ast.Name))
    return {name for name, found in values.items() if name not in changed and stores.get(name) == len(found)
            and all(_constant_expression(v) for v in found)}


def _prompt_pattern(prompt: str) -> re.Pattern | None:
    """A question's prompt as compared with answers (``{param}`` placeholders match any value)."""
    text = normalised_answer(prompt)
    if len(text) < MIN_ANSWER_CHARS // 2:
        return None
    pieces = re.split(r"\\\{\w+\\\}", re.escape(text))
    return re.compile(".+?".join(pieces))


@dataclass
class NoEvidence:
    """What carries no evidence in this class, beyond what every item's own test leaves out: the problems each
    student left as a stub, the feedback such a stub got on each case, the handout's placeholder answers and the
    questions' prompts."""

    stubs: dict[str, set[str]] = field(default_factory=dict)  #: student -> problems whose function is a stub
    generic: dict[tuple[str, str], set[tuple[str, str]]] = field(default_factory=dict)  #: (problem, case) -> ...
    placeholders: set[str] = field(default_factory=set)  #: normalised answers of the handout's answers.yaml
    prompts: dict[tuple[str, str], re.Pattern] = field(default_factory=dict)  #: (problem, question) -> prompt

    @classmethod
    def build(cls, results: dict[str, SubmissionResult], stubs: dict[str, set[str]],
              placeholders: list[Any] | None = None, prompts: dict[tuple[str, str], str] | None = None) -> "NoEvidence":
        found = cls({s: set(p) for s, p in stubs.items() if p})
        for student, problems in found.stubs.items():
            result = results.get(student)
            for problem in result.problems if result is not None else ():
                if problem.problem not in problems:
                    continue
                for c in problem.checks:
                    if c.kind == "check" and c.case is not None and c.status is Status.FAILED:
                        found.generic.setdefault((problem.problem, c.case), set()).add((c.check, c.feedback))
        for value in placeholders or []:
            text = normalised_answer(value)
            if text:
                found.placeholders.add(text)
        for key, prompt in (prompts or {}).items():
            pattern = _prompt_pattern(prompt) if isinstance(prompt, str) else None
            if pattern is not None:
                found.prompts[key] = pattern
        return found

    def answer_left(self, problem: str, question: str, text: str) -> str:
        """``text`` (a normalised answer) less the handout's placeholders and the question's prompt in it."""
        for placeholder in sorted(self.placeholders, key=len, reverse=True):
            if placeholder == text:
                return ""
            if len(placeholder) >= MIN_ANSWER_CHARS // 2 and placeholder in text:
                text = " ".join(text.replace(placeholder, " ").split())
        pattern = self.prompts.get((problem, question))
        if pattern is not None:
            text = " ".join(pattern.sub(" ", text).split())
        return text


NOTHING = NoEvidence()


def value_items(result: SubmissionResult, explained: NoEvidence = NOTHING) -> list[Item]:
    """The hidden cases on which ``result`` failed with feedback no slip explains, one item each: not where a check
    errored, not feedback any constant output gets, not on a problem the student left as a stub (``explained``)."""
    items = []
    stubs = explained.stubs.get(result.student, set())
    for problem in result.problems:
        if problem.problem in stubs:
            continue
        cases: dict[str, list] = {}
        for c in problem.checks:
            if c.kind == "check" and c.visibility is Visibility.HIDDEN and c.case is not None:
                cases.setdefault(c.case, []).append(c)
        for case, checks in cases.items():
            if any(c.diagnosis for c in checks):
                continue
            if any(c.status not in (Status.PASSED, Status.FAILED) for c in checks):
                continue  # an error, a timeout, a crash: no value to compare
            generic = explained.generic.get((problem.problem, case), set())
            wrong = sorted((c.check, c.feedback) for c in checks if c.status is Status.FAILED
                           and not constant_feedback(c.feedback) and (c.check, c.feedback) not in generic)
            if not wrong:
                continue
            shown = "; ".join(f"{check}: {feedback}" for check, feedback in wrong)
            items.append(Item("values", (problem.problem, case, tuple(wrong)),
                              f"{problem.problem}, hidden case {case}: {shown}",
                              group=(problem.problem, tuple(wrong))))
    return items


def slip_item(result: SubmissionResult) -> Item | None:
    """The student's diagnosed slips in order (each once), as one item when there are at least :data:`MIN_SLIPS`."""
    seq: list[tuple[str, str]] = []
    for problem in result.problems:
        for c in problem.checks:
            if c.status is Status.PASSED or not c.diagnosis or c.diagnosis in NOT_SLIPS:
                continue
            if (problem.problem, c.diagnosis) not in seq:
                seq.append((problem.problem, c.diagnosis))
    if len(seq) < MIN_SLIPS:
        return None
    label = ", then ".join(f"{d} ({p})" for p, d in seq)
    return Item("slips", tuple(seq), f"{len(seq)} slips in the same order: {label}", weight=len(seq) - 1.0)


def normalised_answer(value: Any) -> str:
    """An answer as compared: lists and mappings flattened to their words, case and whitespace ignored."""
    if isinstance(value, dict):
        value = " ".join(f"{k} {normalised_answer(v)}" for k, v in sorted(value.items(), key=lambda kv: str(kv[0])))
    elif isinstance(value, (list, tuple)):
        value = " ".join(normalised_answer(v) for v in value)
    return re.sub(r"\s+", " ", str(value)).strip().casefold()


def answer_items(result: SubmissionResult, answers: Answers | None, explained: NoEvidence = NOTHING) -> list[Item]:
    """The student's written answers that could be evidence: not the reference's, not a listed alternative, not
    short once the handout's placeholder and the question's prompt are taken out (``explained``)."""
    if answers is None or answers.error is not None:
        return []
    items = []
    for problem in result.problems:
        for c in problem.checks:
            if c.kind != "question" or c.status is Status.PASSED or (c.diagnosis or "").startswith("alternative:"):
                continue
            if c.diagnosis == NOT_GRADED:
                continue
            present, value = answers.get(problem.problem, c.check)
            if not present or value is None:
                continue
            text = explained.answer_left(problem.problem, c.check, normalised_answer(value))
            if len(text) < MIN_ANSWER_CHARS or len(text.split()) < MIN_ANSWER_WORDS:
                continue
            shown = str(value) if not isinstance(value, (list, dict)) else text
            shown = shown if len(shown) <= 400 else shown[:397] + "..."
            items.append(Item("answers", (problem.problem, c.check, text),
                              f"{problem.problem}, {c.check}: \u201c{shown.strip()}\u201d", weight=ANSWER_WEIGHT))
    return items


def student_items(result: SubmissionResult, answers: Answers | None, explained: NoEvidence = NOTHING) -> list[Item]:
    slips = slip_item(result)
    return value_items(result, explained) + ([slips] if slips else []) + answer_items(result, answers, explained)


def shared_items(items: dict[str, list[Item]], cut: int) -> dict[tuple[str, str], list[Evidence]]:
    """(a, b) with a < b -> the items both hold, for every pair holding one that at most ``cut`` students hold."""
    holders: dict[tuple[str, tuple], list[str]] = {}
    by_key: dict[tuple[str, tuple], Item] = {}
    for student in sorted(items):
        for item in items[student]:
            key = (item.signal, item.key)
            who = holders.setdefault(key, [])
            if not who or who[-1] != student:
                who.append(student)
            by_key.setdefault(key, item)
    pairs: dict[tuple[str, str], list[Evidence]] = {}
    for key, who in holders.items():
        if not 2 <= len(who) <= cut:
            continue
        evidence = Evidence(by_key[key], len(who))
        for pair in combinations(who, 2):
            pairs.setdefault(pair, []).append(evidence)
    return pairs
