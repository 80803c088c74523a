"""What the similarity report reads: a ``grade`` output folder's gradebook, each student's code and written answers,
the starter code to subtract (and the handout's ``answers.yaml``, whose placeholders are no answer), and from the
assignment's problem specs, as plain YAML, each problem's function names and each question's prompt.

Student files are read as data with the grader's own readers (:func:`grader.submissions.read_source`,
:func:`grader.answers.reader.read_answers`): only regular files, never a link followed out of the folder, bounded
in size; a notebook is read as its code cells. Nothing a student wrote is imported or run.
"""

from __future__ import annotations

import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from grader.answers.reader import Answers, read_answers
from grader.gradebook import FILENAME as GRADEBOOK, Gradebook
from grader.models import SubmissionResult
from grader.notebook import NotebookError, notebook_to_python
from grader.submissions import STUDENT_ID, SourceFile, SubmissionError, read_source
from grader.submission_files import entry_mode

STARTER_SUFFIXES = (".py", ".ipynb")
ANSWER_FILES = ("answers.yaml", "answers.yml")  #: the handout's answers file, found in a starter folder
ANSWER_SUFFIXES = (".yaml", ".yml")  #: a starter file given by name with one of these is an answers file
MAX_STARTER_BYTES = 8 * 1024 * 1024
MAX_SPEC_BYTES = 1024 * 1024


class SimilarityError(Exception):
    """The report cannot be made; the message names the folder or file and what to do."""


@dataclass
class GradedRun:
    """A ``grade`` output folder: the stored results and where the submissions were read from."""

    out: Path
    results: dict[str, SubmissionResult]
    submissions_dir: Path | None  #: the folder the latest run graded (None: no run recorded)
    assignment: str = ""


@dataclass
class Submitted:
    """One student's code (None when it cannot be read, with the reason) and written answers."""

    student: str
    source: SourceFile | None
    answers: Answers | None
    problem: str | None = None


@dataclass
class Starter:
    """The handout's starter code: its files and their text; and its answers files, with every answer in them."""

    files: list[Path] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    answer_files: list[Path] = field(default_factory=list)
    answers: list[Any] = field(default_factory=list)  #: every answer (placeholder) the handout's answers files hold


@dataclass
class AssignmentInfo:
    """What the similarity report takes from the assignment's problem specs (read as plain YAML, never loaded as
    an assignment: that would reach its kit): each problem's function names and each question's prompt."""

    folder: Path | None = None
    entries: dict[str, set[str]] = field(default_factory=dict)  #: problem -> its entry functions
    prompts: dict[tuple[str, str], str] = field(default_factory=dict)  #: (problem, question) -> prompt
    problem: str | None = None  #: why the specs could not be read (in part), or None


def read_assignment_info(folder: Path | None, problems: list[str]) -> AssignmentInfo:
    """The entry functions and question prompts of ``problems`` from ``folder/<problem>.yaml``; what cannot be read
    is left out, with a note."""
    info = AssignmentInfo(Path(folder) if folder else None)
    if folder is None or not Path(folder).is_dir():
        info.problem = f"assignment folder {folder} not found" if folder else "no assignment recorded"
        return info
    missing = []
    for problem in problems:
        path = Path(folder) / f"{problem}.yaml"
        try:
            if not path.is_file() or path.is_symlink() or path.stat().st_size > MAX_SPEC_BYTES:
                raise OSError("not a regular file of at most 1 MB")
            spec = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError, RecursionError, ValueError):
            missing.append(problem)
            continue
        if not isinstance(spec, dict):
            missing.append(problem)
            continue
        entry = spec.get("entry")
        if isinstance(entry, dict):
            info.entries[problem] = {str(name) for name in entry}
        for question in spec.get("questions") or []:
            if isinstance(question, dict) and isinstance(question.get("prompt"), str) and "id" in question:
                info.prompts[(problem, str(question["id"]))] = question["prompt"]
    if missing:
        info.problem = f"no readable spec in {folder} for {', '.join(missing)}"
    return info


def _answers_in(value: Any) -> list[Any]:
    """Every answer of an answers file's data (problem -> question -> answer)."""
    return [answer for section in value.values() if isinstance(section, dict) for answer in section.values()]


def read_run(out_dir: Path) -> GradedRun:
    """The results stored in ``OUT/gradebook.sqlite`` and the submissions folder its latest run graded."""
    path = Path(out_dir) / GRADEBOOK
    if not path.is_file():
        raise SimilarityError(f"{out_dir}: no {GRADEBOOK}; run 'grader grade SUBMISSIONS --out {out_dir}' first")
    with Gradebook.open(path) as book:
        results = book.load()
        run = book.last_run()
    folder = Path(run["submissions_dir"]) if run else None
    return GradedRun(Path(out_dir), results, folder, str(run["assignment"]) if run else "")


def read_submission(folder: Path, student: str) -> Submitted:
    """A student's code and answers from ``folder/student``, read as data."""
    where = folder / student
    mode = entry_mode(folder, student)
    if not STUDENT_ID.match(student) or mode is None:
        return Submitted(student, None, None, f"no folder {where}")
    if not stat.S_ISDIR(mode):
        return Submitted(student, None, None, f"{where} is not a folder (a link is never followed)")
    try:
        source: SourceFile | None = read_source(where)
        problem = None
    except SubmissionError as exc:
        source, problem = None, str(exc)
    return Submitted(student, source, read_answers(where / "answers.yaml"), problem)


def read_starter(paths: list[Path]) -> Starter:
    """The starter code: each file given, and every ``.py`` and ``.ipynb`` file under each folder given (notebooks
    as their code cells); and the handout's answers: a ``.yaml`` file given, and every ``answers.yaml`` under a
    folder given (read with the students' safe reader)."""
    starter = Starter()
    for given in paths:
        given = Path(given)
        if given.is_dir():
            found = sorted(p for p in given.rglob("*") if p.is_file() and not p.is_symlink())
            files = [p for p in found if p.suffix in STARTER_SUFFIXES]
            answer_files = [p for p in found if p.name in ANSWER_FILES]
        elif given.is_file():
            files, answer_files = ([], [given]) if given.suffix in ANSWER_SUFFIXES else ([given], [])
        else:
            raise SimilarityError(f"{given}: no such starter file or folder")
        for file in answer_files:
            read = read_answers(file)
            if read.error is not None:
                raise SimilarityError(f"{file}: {read.error}")
            starter.answer_files.append(file)
            starter.answers.extend(_answers_in(read.data))
        for file in files:
            if file.stat().st_size > MAX_STARTER_BYTES:
                raise SimilarityError(f"{file}: larger than {MAX_STARTER_BYTES // (1 << 20)} MB; is it starter code?")
            try:
                text = file.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise SimilarityError(f"{file}: cannot be read as UTF-8 text ({exc})") from exc
            if file.suffix == ".ipynb":
                try:
                    text = notebook_to_python(text).text
                except NotebookError as exc:
                    raise SimilarityError(f"{file}: {exc}") from exc
            starter.files.append(file)
            starter.texts.append(text)
    return starter
