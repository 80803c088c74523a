"""What the similarity report reads: a ``grade`` output folder's gradebook, each student's code and written answers,
and the starter code to subtract.

Student files are read as data with the grader's own readers (:func:`grader.submissions.read_source`,
:func:`grader.answers.reader.read_answers`): only regular files, never a link followed out of the folder, bounded
in size; a notebook is read as its code cells. Nothing a student wrote is imported or run.
"""

from __future__ import annotations

import stat
from dataclasses import dataclass, field
from pathlib import Path

from grader.answers.reader import Answers, read_answers
from grader.gradebook import FILENAME as GRADEBOOK, Gradebook
from grader.models import SubmissionResult
from grader.notebook import NotebookError, notebook_to_python
from grader.submissions import STUDENT_ID, SourceFile, SubmissionError, read_source
from grader.submission_files import entry_mode

STARTER_SUFFIXES = (".py", ".ipynb")
MAX_STARTER_BYTES = 8 * 1024 * 1024


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
    """The handout's starter code: its files and their text."""

    files: list[Path] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)


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
    as their code cells)."""
    starter = Starter()
    for given in paths:
        given = Path(given)
        if given.is_dir():
            files = sorted(p for p in given.rglob("*") if p.suffix in STARTER_SUFFIXES and p.is_file()
                           and not p.is_symlink())
        elif given.is_file():
            files = [given]
        else:
            raise SimilarityError(f"{given}: no such starter file or folder")
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
