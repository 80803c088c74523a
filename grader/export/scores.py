"""Read what a ``grader grade`` run left in its output folder: ``scores.csv`` and each ``results.json``.

With a late policy, scores.csv's ``final_score`` (the score after the late penalty) is the grade every export
uses, and the feedback says how late the submission was and what it cost."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path

from grader.output.scores_csv import COLUMNS

TROUBLE = ("error", "timeout", "memory", "crashed")  #: statuses the feedback names (see the report for details)


class ExportError(Exception):
    """The output folder cannot be exported; the message says what is missing or malformed, and where."""


@dataclass
class StudentScores:
    student: str
    scores: dict[str, float] = field(default_factory=dict)  #: problem id -> score
    feedback: str = ""  #: a one-paragraph summary for the LMS's feedback column
    late: str = ""  #: the late penalty in words, or "on time (within the grace period, ...)" (also ending the feedback)

    @property
    def total(self) -> float:
        return round(sum(self.scores.values()), 6)


@dataclass
class ClassScores:
    problems: dict[str, float]  #: problem id -> max score, in the order scores.csv lists them
    students: dict[str, StudentScores]  #: by folder name, sorted
    warnings: list[str] = field(default_factory=list)

    @property
    def max_score(self) -> float:
        return round(sum(self.problems.values()), 6)


def number(value: float) -> str:
    """A score as written to an import file: up to four decimals, no trailing zeros, no exponent."""
    text = f"{value:.4f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def _float(text: str, where: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ExportError(f"{where}: '{text}' is not a number") from None


def _feedback(student: str, problems: dict[str, float], scores: dict[str, float], results: Path,
              warnings: list[str]) -> str:
    """Per-problem scores, with errors and limits hit, the slips the grader named and the answers awaiting a grade."""
    named: dict[str, list[str]] = {}
    pending: dict[str, int] = {}
    trouble: dict[str, set[str]] = {}
    if results.is_file():
        try:
            tests = json.loads(results.read_text(encoding="utf-8")).get("tests", [])
        except (OSError, ValueError) as exc:
            warnings.append(f"{results}: unreadable ({exc}); feedback has the scores only")
            tests = []
        for test in tests:
            extra = test.get("extra_data") or {}
            problem = (test.get("tags") or [""])[0]
            if extra.get("status") == "pending":
                pending[problem] = pending.get(problem, 0) + 1
            elif extra.get("status") in TROUBLE:
                trouble.setdefault(problem, set()).add(extra["status"])
            elif extra.get("diagnosis") and extra.get("status") != "passed":
                slips = named.setdefault(problem, [])
                if extra["diagnosis"] not in slips:
                    slips.append(extra["diagnosis"])
    else:
        warnings.append(f"{results}: missing; feedback for '{student}' has the scores only")
    parts = []
    for problem, max_score in problems.items():
        if problem not in scores:
            continue
        text = f"{problem}: {number(scores[problem])}/{number(max_score)}"
        extra = sorted(trouble.get(problem, ()))
        if named.get(problem):
            extra.append("slips: " + ", ".join(named[problem]))
        if pending.get(problem):
            extra.append(f"{pending[problem]} written answer(s) awaiting manual grading")
        parts.append(text + (f" ({'; '.join(extra)})" if extra else ""))
    return "; ".join(parts)


def read_scores(out_dir: Path) -> ClassScores:
    """Read ``OUT/scores.csv`` (one row per student and problem) and the feedback from ``results.json``."""
    path = Path(out_dir) / "scores.csv"
    if not path.is_file():
        raise ExportError(f"{path}: no such file (run `grader grade ... --out {out_dir}` first)")
    problems: dict[str, float] = {}
    rows: dict[str, dict[str, float]] = {}
    raw: dict[str, dict[str, float]] = {}
    late: dict[str, dict[str, str]] = {}
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in ("student", "problem", "score", "max_score") if c not in (reader.fieldnames or [])]
        if missing:
            raise ExportError(f"{path}: not a grader scores file (missing column(s) {', '.join(missing)}; "
                              f"expected {','.join(COLUMNS)})")
        final = "final_score" in (reader.fieldnames or [])  # a late policy: the final score is the grade
        for line, row in enumerate(reader, start=2):
            where = f"{path}:{line}"
            score, max_score = _float(row["score"], where), _float(row["max_score"], where)
            problems[row["problem"]] = max(problems.get(row["problem"], 0.0), max_score)
            raw.setdefault(row["student"], {})[row["problem"]] = score
            rows.setdefault(row["student"], {})[row["problem"]] = _float(row["final_score"], where) if final else score
            if final:
                late.setdefault(row["student"], row)
    warnings: list[str] = []
    students = {}
    for student in sorted(rows):
        feedback = _feedback(student, problems, raw[student],
                             Path(out_dir) / "students" / student / "results.json", warnings)
        said = _late(late.get(student), sum(raw[student].values()) - sum(rows[student].values()))
        students[student] = StudentScores(student, rows[student], "; ".join(filter(None, [feedback, said])), said)
    return ClassScores(problems, students, warnings)


def _late(row: dict[str, str] | None, points: float) -> str:
    """The late penalty in words, from a student's late columns in scores.csv; for a submission within the grace
    period, that it was on time (and how long after the due time); empty when on time."""
    if not row or not (row.get("late_by") or "").strip():
        return ""
    if row["late_by"].startswith("on time"):  # within the grace period: on time, and said so
        return row["late_by"]
    slip = row.get("slip_days_used") or "0"
    spent = f", {slip} slip day{'s' if slip != '1' else ''} spent" if slip not in ("", "0") else ""
    percent = row.get("penalty_percent") or "0"
    cost = f"late penalty {percent}% (-{number(points)})" if percent not in ("", "0") else "no late penalty"
    return f"late by {row['late_by']}{spent}: {cost}"
