"""``grader release``: the student handout of an assignment.

A release holds what students may see: every problem's spec with its public cases only (hidden cases
removed, checks' ``cases`` lists and case-keyed parameters such as ``hints`` trimmed; points unchanged),
the public cases' expected values (computed from the reference now, since the reference solutions stay
behind), hidden written questions without their answers, alternatives, explanations and telling aliases,
and a short README on ``grader check``. ``assignment.yaml`` says ``released: true``, which lets the specs
go without references and answers. ``grader check --assignment RELEASE`` then gives the same public
results as the full assignment.

Specs are rewritten from their parsed data (so comments about hidden cases stay behind too); a field
this module does not know how to publish stops the release rather than being copied blindly.

Per-student cases and questions (grader/variants.py): with ``roster`` (a CSV of student ids) each student gets a
release of their own, ``OUT/<student>/``, whose public per-student cases carry that student's seed (``seeds:
[...]``, so their ``grader check`` needs no secret) with that student's expected values, and whose per-student
questions carry that student's numbers in their prompt (and, for a public question, its answer); ``OUT/students.csv``
lists them. Without a roster, an assignment with public per-student cases, or with per-student questions, is
refused; hidden per-student cases are never released, so they need neither. The roster may be an LMS export (read as
``grader export`` reads one, grader/export/roster.py: Canvas's "Points Possible" row skipped, ``key`` names the id
column).

Every release writes ``OUT/.grader-release``, listing each file and folder it wrote, and ``force`` replaces only
what a previous release wrote (grader/release_folder.py).
"""

from __future__ import annotations

import csv
import io
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from grader import variants
from grader.answers.released import ANSWER_FIELDS
from grader.export import roster as lms_roster
from grader.export.scores import ExportError
from grader.expected_values import SUFFIX, write_expected
from grader.grading import ALL, PUBLIC, selected_cases
from grader.models import Assignment, ProblemSpec, Visibility
from grader.output import inert_csv
from grader.reference import CaseBook
from grader.release_folder import MARKER, ReleaseError, prepare_out, write_marker
from grader.spec import load_assignment
from grader.spec.loader import ASSIGNMENT_FILE
from grader.submissions import STUDENT_ID

README = "README.md"
STUDENTS = "students.csv"  #: a roster release's index: each student and their folder
#: problem fields copied as they are; ``reference`` is dropped; cases, checks and questions are filtered
_PUBLISHED = ("id", "title", "statement", "points", "entry", "limits")
_ASSIGNMENT_FIELDS = ("id", "title", "kit", "problems", "limits", "late")  # the late policy is public


@dataclass
class Release:
    out: Path
    files: list[Path] = field(default_factory=list)
    cases: dict[str, tuple[int, int]] = field(default_factory=dict)  #: problem -> (public, hidden) cases
    notes: list[str] = field(default_factory=list)
    students: list[str] | None = None  #: a roster release's students, each with a folder OUT/<student>/


def per_student_parts(assignment: Assignment) -> list[str]:
    """The problems a release must write per student: public per-student cases, or per-student questions (their
    prompts show each student's numbers)."""
    return [p.id for p in assignment.problems
            if any(c.per_student and c.visibility is Visibility.PUBLIC for c in p.cases)
            or variants.per_student_questions(p)]


def release_assignment(assignment_dir: Path, out_dir: Path, *, force: bool = False, roster: Path | None = None,
                       secret: Path | None = None, key: str | None = None) -> Release:
    """Write the student release of ``assignment_dir`` into ``out_dir`` (new or empty; with ``force``, a
    previous release there is replaced: only what its marker lists, :data:`MARKER`). The release is loaded back and
    compared before returning. With ``roster`` (its id column ``key``: :func:`read_roster`), one release per student
    in ``out_dir/<student>/`` (per-student cases and questions need the course ``secret``, default
    ``GRADER_SECRET_FILE``); without one, an assignment with public per-student parts is refused."""
    assignment = load_assignment(assignment_dir)
    if assignment.released:
        raise ReleaseError(f"{assignment.root}: already a student release; release the full assignment")
    raw = _yaml(assignment.root / ASSIGNMENT_FILE)
    unknown = sorted(set(raw) - set(_ASSIGNMENT_FIELDS) - {"released"})
    if unknown:
        raise ReleaseError(f"{assignment.root / ASSIGNMENT_FILE}: do not know whether {unknown} may be published")
    needing = per_student_parts(assignment)
    if roster is None and needing:
        raise ReleaseError(f"{', '.join(needing)}: per-student public cases or per-student questions, which each "
                           "student gets with their own numbers: pass --roster roster.csv (and the course secret, "
                           "--secret FILE) to write one release per student")
    if key is not None and roster is None:
        raise ReleaseError("--key names the roster's id column: only with --roster")
    notes: list[str] = []
    students = read_roster(Path(roster), key, notes) if roster is not None else None
    try:
        secret_key = variants.load_secret(secret, inside=(assignment.root, Path(out_dir).resolve()))
        if students is not None:
            variants.require(secret_key, [assignment.problem(p) for p in needing], doing="release")
    except variants.SecretError as exc:
        raise ReleaseError(str(exc)) from exc
    out = prepare_out(Path(out_dir), assignment.root, force)
    release = Release(out, notes=notes)
    try:
        if students is None:
            _write_release(assignment, raw, out, release)
        else:
            for student in students:
                _write_release(assignment, raw, out / student, release, student, secret_key)
            index = io.StringIO()
            writer = inert_csv.writer(index)  # student ids are validated, but every CSV the grader writes is inert
            for row in [("student", "folder"), *((s, s) for s in students)]:
                writer.writerow(row)
            (out / STUDENTS).write_text(index.getvalue(), encoding="utf-8")
            release.files.append(out / STUDENTS)
            release.students = students
    finally:  # even a release that failed half-way can be replaced with --force (and only what it wrote)
        write_marker(out, assignment.id, students)
    release.notes = list(dict.fromkeys(release.notes))
    return release


def _write_release(assignment: Assignment, raw: dict[str, Any], out: Path, release: Release,
                   student: str | None = None, key: variants.Secret | None = None) -> None:
    """One release in ``out``: everyone's (``student`` None), or ``student``'s own (their per-student numbers)."""
    out.mkdir(parents=True, exist_ok=True)
    release.files.append(_dump(out / ASSIGNMENT_FILE, {**{k: raw[k] for k in _ASSIGNMENT_FIELDS if k in raw},
                                                       "released": True}))
    release.files += _copy_kit(assignment, out, release.notes)
    book = CaseBook()
    problems = [variants.for_student(p, assignment.id, student, key, ALL if key is not None else PUBLIC)
                if student is not None else p for p in assignment.problems]
    for problem in problems:
        release.files += _release_problem(problem, out, book, release.notes)
        release.notes += [f"{student}: {n}" if student is not None and variants.per_student_questions(problem) else n
                          for n in _stated_answers(problem)]
        hidden = sum(1 for c in problem.cases if c.visibility is Visibility.HIDDEN)
        release.cases[problem.id] = (len(problem.cases) - hidden, hidden)
    (out / README).write_text(_readme(assignment, out, student), encoding="utf-8")
    release.files.append(out / README)
    _verify(problems, load_assignment(out))


def read_roster(path: Path, key: str | None = None, notes: list[str] | None = None) -> list[str]:
    """The student ids of a roster CSV (a header row, then one student a row), read as ``grader export`` reads an
    LMS roster (grader/export/roster.py; Canvas's "Points Possible" row is skipped). The ids are in column ``key``
    (any case); by default its ``student`` column (so named, as in a release's own students.csv), else the first of
    the LMS id columns export looks for (``SIS Login ID``, ``Username``, ``Login ID``, ``ID number``, ``Email
    address``) that the roster has, else a ``Student`` column in any case (Canvas's ``Student`` holds names, hence
    after the id columns), else its first column.
    Each must be a valid student id (a submission folder's name), listed once (ignoring case), and none may be the
    name of a file the release writes beside the students' folders; an email that is not a valid id is mapped as
    ``grader gradescope`` maps it (:func:`grader.variants.safe_id`), and a row without an id is skipped, each with a
    note in ``notes``."""
    try:
        columns = _roster_columns(path)
        if key is None:
            lowered = {c.lower(): c for c in columns}
            key = ("student" if "student" in columns else None) or \
                next((c for c in lms_roster.KEY_COLUMNS if c in columns), None) or lowered.get("student") or \
                (columns[0] if columns else None)
        elif key not in columns:
            key = {c.lower(): c for c in columns}.get(key.strip().lower(), key)  # as typed, any case
        roster = lms_roster.read_roster(path, key)
    except ExportError as exc:
        raise ReleaseError(f"cannot read the roster: {exc}") from exc
    students: list[str] = []
    seen: dict[str, int] = {}
    reserved = {name.casefold() for name in (STUDENTS, MARKER)}
    for entry in roster.entries:
        if not any(value.strip() for value in entry.fields.values()):
            continue
        student, line = entry.get(roster.key), entry.line
        if not student:  # e.g. Canvas's Test Student, who has no SIS Login ID
            if notes is not None:
                notes.append(f"{roster.describe(entry)}: no {roster.key}, so no release for this row")
            continue
        if not STUDENT_ID.match(student) and "@" in student and not student.startswith("@"):
            mapped = variants.safe_id(student)
            if notes is not None:
                notes.append(f"{path}:{line}: {student!r} is not a valid student id: released as {mapped!r}, the id "
                             "grader gradescope grades this email as")
            student = mapped
        if not STUDENT_ID.match(student):
            raise ReleaseError(f"{path}:{line}: {student!r} ({roster.key}) is not a valid student id (as the "
                               "submission folders are named: letters, digits and . _ @ + -)")
        if student.casefold() in reserved:
            raise ReleaseError(f"{path}:{line}: student {student!r} has the name of a file the release writes beside "
                               f"the students' folders ({STUDENTS}); rename this student")
        if student.casefold() in seen:
            raise ReleaseError(f"{path}:{line}: student {student!r} is already on line {seen[student.casefold()]} "
                               "(ids that differ only in case count as one)")
        seen[student.casefold()] = line
        students.append(student)
    if not students:
        raise ReleaseError(f"{path}: no students on the roster (column {roster.key!r})")
    return students


def _roster_columns(path: Path) -> list[str]:
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            return [c.strip() for c in next(csv.reader(fh), [])]
    except FileNotFoundError:
        raise ReleaseError(f"{path}: no such roster file") from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ReleaseError(f"{path}: cannot read the roster ({exc})") from exc


def roster_ids(path: Path, key: str | None = None) -> list[str]:
    """The student ids of a release's roster, for ``grade --roster``: ``path`` is a roster CSV (as
    :func:`read_roster` reads it) or a roster release's folder or its ``students.csv``."""
    path = Path(path)
    if path.is_dir():
        if not (path / STUDENTS).is_file():
            raise ReleaseError(f"{path}: no {STUDENTS} (expected a roster CSV, or a release written with --roster)")
        path = path / STUDENTS
    return read_roster(path, key)


def _copy_kit(assignment: Assignment, out: Path, notes: list[str]) -> list[Path]:
    """The assignment's kit, copied into the release (its .py files): a student's ``grader check`` builds the
    public cases with its generators and judges them with its checks and slips."""
    source = assignment.kit_path
    if source is None:
        return []
    files = [source] if source.is_file() else sorted(p for p in source.rglob("*.py") if "__pycache__" not in p.parts)
    files += sorted(p for p in assignment.kit.sandbox_modules.values() if p not in files)  # beside a single-file kit
    copied = []
    for path in files:
        target = out / path.relative_to(assignment.root)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
        copied.append(target)
    notes.append(f"{source.relative_to(assignment.root)} (the assignment's kit) is published with the release "
                 "(students' grader check runs its generators, checks and slips); keep nothing secret in it")
    return copied


def _yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ReleaseError(f"{path}: cannot read it ({exc})") from exc


class _Dumper(yaml.SafeDumper):
    """Readable specs: multi-line text as ``|`` blocks, short lists of plain values on one line."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if "\n" in value else None)


def _list(dumper: yaml.SafeDumper, value: list) -> yaml.Node:
    flat = all(isinstance(v, (str, int, float, bool)) and "\n" not in str(v) for v in value)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", value, flow_style=flat)


_Dumper.add_representer(str, _str)
_Dumper.add_representer(list, _list)


def _dump(path: Path, data: dict[str, Any]) -> Path:
    text = yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=110)
    path.write_text("# Student release written by `grader release`: public cases only.\n" + text, encoding="utf-8")
    return path


def _release_problem(problem: ProblemSpec, out: Path, book: CaseBook, notes: list[str]) -> list[Path]:
    """``problem``'s released spec (and expected values); a per-student problem comes resolved for its student
    (``variants.for_student``), and its per-student cases and questions are written with that student's numbers."""
    raw = _yaml(problem.source)
    public = {c.group for c in problem.cases if c.visibility is Visibility.PUBLIC}
    hidden = {c.group for c in problem.cases} - public
    seeds = {c.group: c.seed for c in problem.cases if c.per_student and c.visibility is Visibility.PUBLIC}
    questions = {q.id: q for q in problem.questions}
    doc: dict[str, Any] = {}
    for key, value in raw.items():
        if key in _PUBLISHED:
            doc[key] = value
        elif key == "reference":
            if problem.checks:
                doc["expected"] = f"{problem.id}{SUFFIX}"
        elif key == "cases":
            doc["cases"] = [{**c, "seeds": [seeds[c["id"]]]} if c.get("seeds") == variants.PER_STUDENT else c
                            for c in value if c.get("visibility") == "public"]
        elif key == "checks":
            doc["checks"] = [_release_check(c, public, hidden, f"{problem.source}: checks[{i}]")
                             for i, c in enumerate(value)]
        elif key == "questions":
            doc["questions"] = [_release_question(_own_numbers(q, questions), f"{problem.id}/{q.get('id')}", notes)
                                for q in value]
        elif key in ("mutants", "leaderboard"):  # the board ranks a graded class: a release has none
            continue  # mutation testing's marks quote the reference's code: never published
        else:
            raise ReleaseError(f"{problem.source}: do not know whether field {key!r} may be published")
    files = [_dump(out / problem.source.name, doc)]
    if problem.checks:
        cases = selected_cases(problem, PUBLIC)
        path = out / f"{problem.id}{SUFFIX}"
        write_expected(path, problem.id, [(c, book.expected(problem, c)) for c in cases])
        files.append(path)
    return files


def _release_check(check: dict[str, Any], public: set[str], hidden: set[str], where: str) -> dict[str, Any]:
    check = dict(check)
    if check.get("cases") is not None:
        check["cases"] = [g for g in check["cases"] if g in public]
    if "params" in check:
        check["params"] = _scrub(check["params"], hidden, where + ".params")
    return check


def _scrub(value: Any, hidden: set[str], where: str) -> Any:
    """``value`` without mentions of hidden case groups: as mapping keys (e.g. ``hints``) or list items."""
    if isinstance(value, dict):
        return {k: _scrub(v, hidden, f"{where}.{k}") for k, v in value.items() if k not in hidden}
    if isinstance(value, list):
        return [_scrub(v, hidden, where) for v in value if not (isinstance(v, str) and v in hidden)]
    if isinstance(value, str) and value in hidden:
        raise ReleaseError(f"{where} names the hidden case {value!r}; cannot publish it")
    return value


def _own_numbers(question: dict[str, Any], resolved: dict[str, Any]) -> dict[str, Any]:
    """A per-student question (with ``params``) as its student gets it: their numbers in the prompt, its answer and
    alternatives evaluated for them, no params; any other question as it is."""
    if not question.get("params"):
        return question
    mine = resolved[question["id"]]
    if getattr(mine, "params", None):
        raise ReleaseError(f"{question['id']}: a per-student question not resolved for a student (a grader bug)")
    own = {k: v for k, v in question.items() if k != "params"}
    own["prompt"], own["answer"] = mine.prompt, mine.answer
    if "alternatives" in question:
        own["alternatives"] = [{**a, "answer": m.answer} for a, m in zip(question["alternatives"], mine.alternatives)]
    return own


def _release_question(question: dict[str, Any], name: str, notes: list[str]) -> dict[str, Any]:
    """A hidden question without what reveals its answer; a public one as it is (check scores it)."""
    if question.get("visibility") == "public":
        return dict(question)
    kept = {k: v for k, v in question.items() if k not in ANSWER_FIELDS}
    aliases = kept.pop("aliases", None)
    if aliases:
        if set(aliases) == set(question.get("options", [])):
            kept["aliases"] = aliases  # every option has its spellings: they single out none
        else:
            notes.append(f"{name}: aliases left out (only {', '.join(map(str, aliases))} had some, which hints "
                         "at the answer); the release's check reports those spellings as malformed")
    return kept


def _stated_answers(problem: ProblemSpec) -> list[str]:
    """Notes for hidden number answers that the problem's own public text (statement, prompts) states."""
    text = "\n".join([problem.statement, *(q.prompt for q in problem.questions)])
    notes = []
    for q in problem.questions:
        if q.kind == "number" and q.visibility is Visibility.HIDDEN:
            if re.search(rf"(?<![\d.]){q.answer:g}(?![\d.])", text):
                notes.append(f"{problem.id}/{q.id}: its answer {q.answer:g} appears in the problem's statement or "
                             "prompts, which the release keeps")
    return notes


def _verify(problems: list[ProblemSpec], released: Assignment) -> None:
    """The release loads, has every problem with the same points, and exactly the public cases (a student's own
    release: with their seeds)."""
    for problem in problems:
        other = released.problem(problem.id)
        mine = [(c.id, c.entry, c.generator, c.params, c.seed) for c in problem.cases
                if c.visibility is Visibility.PUBLIC]
        theirs = [(c.id, c.entry, c.generator, c.params, c.seed) for c in other.cases]
        if mine != theirs or other.points != problem.points or other.reference is not None:
            raise ReleaseError(f"{other.source}: the released spec does not match {problem.source} (a grader bug)")


def _readme(assignment: Assignment, out: Path, student: str | None = None) -> str:
    mine = ([f"This release is yours, {student}: its public cases and the numbers in its questions are your own "
             "(every student gets different ones), and your submission is graded on your own hidden cases.", ""]
            if student is not None else [])
    lines = [f"# {assignment.title}", "", *mine,
             "Check your work on the public cases before you submit:", "", "```sh",
             f"grader check path/to/your-folder --assignment {out.name}", "```", "",
             "Your folder holds `solution.py` (or `solution.ipynb`) and, for the written questions, "
             "`answers.yaml` (keyed by problem id, then question id). `grader check` runs your code in a "
             "sandbox on the public cases and explains every check; it exits 0 when all of them pass. "
             "Hidden cases and the written answers are graded after you submit: for the written answers "
             "`grader check` only says which ones are missing or malformed (lines marked `fix:`).", "",
             "The `*.expected.json` files hold the public cases' expected values (there is no reference "
             "solution here); do not edit them or the specs.", "", "## Problems", ""]
    for p in assignment.problems:
        lines.append(f"- `{p.id}` ({_points(p.points)}): {p.title}")
        lines += [f"  - write `{e.signature}`" for e in p.entries]
        for q in p.questions:
            form = {"single_choice": "one of: " + ", ".join(getattr(q, "options", [])),
                    "multiple_choice": "a list of: " + ", ".join(getattr(q, "options", [])),
                    "number": "a number" + (f" in {q.unit}" if getattr(q, "unit", None) else ""),
                    "tokens": "a list of tokens", "free_text": "text, graded by hand"}[q.kind]
            lines.append(f"  - answers.yaml `{p.id}: {q.id}` ({_points(q.points)}): {form}")
    return "\n".join(lines) + "\n"


def _points(points: float) -> str:
    return f"{points:g} point" + ("" if points == 1 else "s")
