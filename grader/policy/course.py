"""``course.yaml``: a course's assignments, in the order slip days are spent, and the slip-day budget.

```yaml
slip_days: 5                  # each student's budget for the whole course
assignments:                  # in the order slip days are spent (usually the order of the due dates)
  - id: hw1                   # optional: the label in reports (default: the assignment's own id)
    path: problems/hw1        # the assignment folder (its late: policy), relative to this file
    out: reports/hw1          # where `grader grade` writes it: its submission-times.csv is read
  - {path: problems/hw2, out: reports/hw2}
```

The slip days each student spends are worked out assignment by assignment, in this order, from each assignment's
current ``late:`` policy and what its last ``grade`` run applied it to (``OUT/submission-times.csv``: times and
extensions; ``OUT/scores.csv``: the raw ``score``, since a submission that scores 0 spends none, as ``grade`` itself
decides from the same score). So ``grader grade ... --course course.yaml`` of one assignment spends only the days
left after the ones before it, in whatever order the assignments are graded; ``grader course course.yaml`` shows
the whole ledger. An assignment not graded yet spends nothing, and neither does one without a ``late:`` policy
(its graded students are listed with 0).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from grader.output import inert_csv
from grader.policy.errors import PolicyError
from grader.policy.records import RECORDS, read_records
from grader.policy.rules import assess
from grader.spec import SpecError, load_assignment
from grader.spec.yamlnodes import LocatedYaml, format_loc, load_located

LEDGER_CSV = "course-slip-days.csv"
SCORES_CSV = "scores.csv"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CourseAssignmentModel(_Strict):
    id: str | None = Field(None, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    path: str = Field(min_length=1)
    out: str = Field(min_length=1)


class CourseModel(_Strict):
    slip_days: int = Field(ge=0)
    assignments: list[CourseAssignmentModel] = Field(min_length=1)


@dataclass(frozen=True)
class CourseEntry:
    label: str | None  #: the id course.yaml gives it, if any
    root: Path  #: the assignment folder
    out: Path  #: its grade output folder
    where: str  #: course.yaml and the entry's line, for messages


@dataclass(frozen=True)
class Course:
    path: Path
    slip_days: int
    entries: tuple[CourseEntry, ...]

    def index_of(self, root: Path) -> int | None:
        """The position of the assignment in folder ``root``, or None when the course does not list it."""
        root = Path(root).resolve()
        return next((i for i, e in enumerate(self.entries) if e.root == root), None)


def _issues(doc: LocatedYaml, err: ValidationError) -> list[str]:
    out = []
    for e in err.errors():
        loc = list(e["loc"])
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] == "missing":
            msg = "required field is missing"
        elif msg.startswith("Extra inputs"):
            msg = "unknown field (a typo?)"
        elif not isinstance(e.get("input"), (dict, list)):
            msg = f"{msg} (got {e.get('input')!r})"
        out.append(f"{doc.path}:{doc.line_of(loc)}: {format_loc(loc)}: {msg}")
    return out


def load_course(path: Path) -> Course:
    """Read and check ``course.yaml``; every problem is a :class:`PolicyError` line naming file, line and key."""
    path = Path(path)
    try:
        doc = load_located(path)
    except FileNotFoundError:
        raise PolicyError(f"{path}: no such course file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(f"{path}: cannot be read ({exc})") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise PolicyError(f"{path}:{mark.line + 1 if mark else 1}: invalid YAML: {exc.problem or exc}") from None
    except yaml.YAMLError as exc:
        raise PolicyError(f"{path}: invalid YAML: {exc}") from None
    if not isinstance(doc.data, dict):
        raise PolicyError(f"{path}:1: expected slip_days: and assignments: at the top level")
    try:
        model = CourseModel.model_validate(doc.data)
    except ValidationError as err:
        raise PolicyError(_issues(doc, err)) from None
    base = path.resolve().parent
    entries, problems, seen = [], [], {}
    for i, a in enumerate(model.assignments):
        where = f"{path}:{doc.line_of(['assignments', i])}"
        root = (base / a.path).resolve()
        if not (root / "assignment.yaml").is_file():
            problems.append(f"{path}:{doc.line_of(['assignments', i, 'path'])}: assignments[{i}].path: no "
                            f"assignment.yaml in {root}")
        if root in seen:
            problems.append(f"{where}: assignments[{i}]: {a.path} is listed twice (also {seen[root]})")
        seen.setdefault(root, where)
        entries.append(CourseEntry(a.id, root, (base / a.out).resolve(), where))
    labels = [e.label for e in entries if e.label]
    problems += [f"{path}: id {x!r} is given twice" for x in sorted({x for x in labels if labels.count(x) > 1})]
    if problems:
        raise PolicyError(problems)
    return Course(path, model.slip_days, tuple(entries))


# --------------------------------------------------------------------------- the ledger


@dataclass
class Column:
    """One assignment of the course: the slip days each of its students spent."""

    id: str
    entry: CourseEntry
    used: dict[str, int] = field(default_factory=dict)  #: student -> slip days spent here (graded students only)
    graded: bool = False  #: its grade output (submission-times.csv) was found
    takes_slip_days: bool = False
    has_policy: bool = True  #: its assignment.yaml has a late: key


@dataclass
class Ledger:
    course: Course
    columns: list[Column]
    warnings: list[str] = field(default_factory=list)

    @property
    def students(self) -> list[str]:
        return sorted({s for c in self.columns for s in c.used})

    def used(self, student: str) -> int:
        return sum(c.used.get(student, 0) for c in self.columns)

    def left(self, student: str) -> int:
        return self.course.slip_days - self.used(student)


def ledger(course: Course, *, before: int | None = None) -> Ledger:
    """The slip days spent on each assignment of ``course`` (only those before position ``before``, when given),
    in order, from each assignment's current policy and its last grade run's times and extensions."""
    book = Ledger(course, [])
    left: dict[str, int] = {}
    for entry in course.entries[:before]:
        try:
            assignment = load_assignment(entry.root)
        except SpecError as exc:
            raise PolicyError([f"{entry.where}: the assignment in {entry.root} does not load:"]
                              + [f"  {issue}" for issue in exc.issues]) from None
        column = Column(entry.label or assignment.id, entry, takes_slip_days=bool(
            assignment.late is not None and assignment.late.takes_slip_days), has_policy=assignment.late is not None)
        book.columns.append(column)
        records = entry.out / RECORDS
        if assignment.late is None:
            book.warnings.append(f"{column.id}: {entry.root / 'assignment.yaml'} has no late: policy, so it spends no "
                                 "slip days")
            column.used = {s: 0 for s in (raw_scores(entry.out / SCORES_CSV) or {})}  # graded here: none spent
            continue
        if not records.is_file():
            book.warnings.append(f"{column.id}: no {records} (not graded yet?): it spends no slip days")
            continue
        column.graded = True
        raw = raw_scores(entry.out / SCORES_CSV)
        if raw is None:
            book.warnings.append(f"{column.id}: no readable {entry.out / SCORES_CSV}: slip days are counted as if "
                                 "every submission scored points")
        for student, record in sorted(read_records(records).items()):
            have = left.get(student, course.slip_days)
            outcome = assess(assignment.late, student, record.time, record.extension, have)
            if raw is not None and student in raw:
                outcome = outcome.scored(raw[student])  # one that scores 0 spends none, as `grade` decided
            column.used[student] = outcome.slip_days_used
            left[student] = have - outcome.slip_days_used
    return book


def raw_scores(path: Path) -> dict[str, float] | None:
    """Each student's raw score (``score``, before any late penalty, summed over problems) in a ``scores.csv``;
    None when there is none or it cannot be read."""
    totals: dict[str, float] = {}
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                student = row.get("student") or ""
                totals[student] = totals.get(student, 0.0) + float(row.get("score") or 0)
    except (OSError, UnicodeDecodeError, csv.Error, ValueError, TypeError):
        return None
    return totals


def slip_days_left(course: Course, root: Path, out: Path) -> tuple[dict[str, int], int, list[str]]:
    """Each student's slip days left for the assignment in ``root`` after the ones before it in the course, the
    budget (for students not seen before), and warnings; the course must list the assignment."""
    at = course.index_of(root)
    if at is None:
        raise PolicyError(f"{course.path}: lists no assignment in {Path(root).resolve()} (add it under "
                          "assignments:, in the order slip days are spent)")
    book = ledger(course, before=at)
    warnings = list(book.warnings)
    entry = course.entries[at]
    if entry.out != Path(out).resolve():
        warnings.append(f"{entry.where}: gives {entry.out} as this assignment's output folder, but this run writes "
                        f"{Path(out).resolve()}: `grader course` reads the former")
    return {s: book.left(s) for s in book.students}, course.slip_days, warnings


def stale(book: Ledger) -> list[str]:
    """Where an assignment's scores.csv was written with other slip days than the ledger now gives (an earlier
    assignment's times, extensions or policy changed since): re-run its grade (nothing is regraded)."""
    out = []
    for column in book.columns:
        scores = column.entry.out / SCORES_CSV
        if not column.graded or not scores.is_file():
            continue
        written: dict[str, str] = {}
        try:
            with open(scores, newline="", encoding="utf-8") as fh:
                for row in csv.DictReader(fh):
                    written.setdefault(row.get("student") or "", row.get("slip_days_used") or "")
        except (OSError, UnicodeDecodeError, csv.Error):
            continue
        changed = sorted(s for s, used in column.used.items() if s in written and written[s] != str(used))
        if changed:
            shown = ", ".join(changed[:5]) + (f" and {len(changed) - 5} more" if len(changed) > 5 else "")
            out.append(f"{column.id}: {scores} was written with other slip days for {shown}; run its `grader "
                       "grade` again with --course (nothing is regraded)")
    return out


def table(book: Ledger) -> list[list[str]]:
    """The ledger as rows: student, slip days per assignment (empty where not graded), used, left."""
    rows = [["student", *(c.id for c in book.columns), "used", "remaining"]]
    for s in book.students:
        rows.append([s, *(str(c.used[s]) if s in c.used else "" for c in book.columns), str(book.used(s)),
                     str(book.left(s))])
    return rows


def write_table(rows: Sequence[Sequence[str]], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as fh:
        inert_csv.writer(fh).writerows(rows)
    tmp.replace(path)
    return path
