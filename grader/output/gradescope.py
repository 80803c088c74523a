"""Gradescope's ``results.json`` for one student."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from grader.models import CheckResult, Status, SubmissionResult, Visibility

_VISIBILITY = {Visibility.PUBLIC: "visible", Visibility.HIDDEN: "after_published"}


def _test(c: CheckResult, number: int) -> dict[str, Any]:
    output = c.feedback if c.status in (Status.PASSED, Status.FAILED) else f"[{c.status.value}] {c.feedback}"
    return {
        "name": c.name,
        "number": str(number),
        "score": c.score,
        "max_score": c.max_score,
        "status": "passed" if c.status is Status.PASSED else "failed",
        "output": output,
        "visibility": _VISIBILITY[c.visibility],
        "tags": [c.problem] + ([c.diagnosis] if c.diagnosis else []),
        "extra_data": {"status": c.status.value, "diagnosis": c.diagnosis, "case": c.case},
    }


def results_json(result: SubmissionResult) -> dict[str, Any]:
    tests = [c for p in result.problems for c in p.checks]
    lines = [f"{p.problem}: {p.score:g} / {p.max_score:g}" for p in result.problems]
    for p in result.problems:
        lines += [f"{p.problem}: {note}" for note in p.notes]
    return {
        "score": result.score,
        "output": "\n".join(result.notes + lines),
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": [_test(c, i) for i, c in enumerate(tests, start=1)],
        "extra_data": {"max_score": result.max_score, "student": result.student},
    }


def write_results_json(result: SubmissionResult, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(results_json(result), indent=2), encoding="utf-8")
    tmp.replace(path)
