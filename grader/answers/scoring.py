"""Score a student's written answers for one problem: one result per question."""

from __future__ import annotations

from grader.answers.questions import AnswerFormatError
from grader.answers.reader import Answers, too_long
from grader.models import CheckResult, ProblemSpec, Status, Visibility


def grade_questions(problem: ProblemSpec, answers: Answers,
                    visibilities: frozenset[Visibility]) -> list[CheckResult]:
    results = []
    for q in problem.questions:
        if q.visibility not in visibilities:
            continue

        def made(status: Status, fraction: float, feedback: str, diagnosis: str | None = None) -> CheckResult:
            return CheckResult(problem.id, q.id, None, q.visibility, status, q.points * fraction, q.points,
                               feedback, diagnosis, kind="question")

        if answers.error is not None:
            results.append(made(Status.ERROR, 0.0, answers.error))
            continue
        present, value = answers.get(problem.id, q.id)
        if not present or value is None:
            results.append(made(Status.ERROR, 0.0, f"no answer: add '{q.id}' under '{problem.id}' in answers.yaml"))
            continue
        try:
            score = _score(q, value)
        except AnswerFormatError as exc:
            results.append(made(Status.ERROR, 0.0, f"{exc}"))
            continue
        fraction = min(max(score.fraction, 0.0), 1.0)
        status = score.status or (Status.PASSED if fraction == 1.0 else Status.FAILED)
        results.append(made(status, fraction, score.feedback, score.diagnosis))
    return results


def _score(question, value):
    """``question.score(value)``; a number too long to read is a format error like any other."""
    if (found := too_long(value)) is not None:
        raise AnswerFormatError(str(found))
    return question.score(value)


def unknown_answers(problems: list[ProblemSpec], answers: Answers) -> list[str]:
    """Notes for answers that match no question, so a typo in a key is never silently ignored."""
    notes = []
    known = {p.id: {q.id for q in p.questions} for p in problems}
    for problem, section in answers.data.items():
        if problem not in known:
            notes.append(f"answers.yaml: unknown problem '{problem}' (expected one of: {', '.join(sorted(known))})")
            continue
        for question in section:
            if question not in known[problem]:
                expected = ", ".join(sorted(known[problem])) or "none: this problem has no written questions"
                notes.append(f"answers.yaml: {problem}: unknown question '{question}' (expected: {expected})")
    return notes


def format_problems(problem: ProblemSpec, answers: Answers, visibilities: frozenset[Visibility]) -> list[str]:
    """For a self-check: what is wrong with the form of answers that are graded later (never their correctness)."""
    if answers.error is not None:
        return [answers.error] if any(q.visibility not in visibilities for q in problem.questions) else []
    notes = []
    for q in problem.questions:
        if q.visibility in visibilities:
            continue
        present, value = answers.get(problem.id, q.id)
        if not present or value is None:
            notes.append(f"answers.yaml: {problem.id}: no answer to '{q.id}' yet")
            continue
        try:
            _score(q, value)
        except AnswerFormatError as exc:
            notes.append(f"answers.yaml: {problem.id}: {q.id}: {exc}")
    return notes
