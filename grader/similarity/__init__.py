"""Similarity of a graded batch (``grader similarity OUT``): pairs of submissions ranked by the evidence that one
was copied from the other, as evidence to review, never as a verdict.

- :mod:`~grader.similarity.tokens`: Python source as normalised token streams, one per function (renamed variables,
  comments, docstrings and layout do not count);
- :mod:`~grader.similarity.fingerprints`: winnowed k-gram fingerprints of those streams (Moss's method);
- :mod:`~grader.similarity.index`: the inverted index from fingerprint to students, the starter code and the common
  code taken out, and the pairs that share code;
- :mod:`~grader.similarity.signals`: what only the grader knows: identical wrong values on hidden cases, identical
  sequences of slips, identical written answers;
- :mod:`~grader.similarity.ranking`: each signal's strength, the combined score and the threshold;
- :mod:`~grader.similarity.sources`: reading the gradebook, the students' files (as data: never run) and the
  starter code;
- :mod:`~grader.similarity.report`: ``similarity.csv``, ``similarity.html`` and a side-by-side page per flagged
  pair.

This package reads what grading stored and the submitted files; it runs no student code and grades nothing (an
import-linter contract keeps it away from the sandbox and the grading modules).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from grader.similarity.fingerprints import K, WINDOW, Document, code_document, every_kgram
from grader.similarity.index import COMMON_FRACTION, CodeIndex, build_index, overlap, shared_counts
from grader.similarity.ranking import THRESHOLD, Pair, rank
from grader.similarity.signals import SIGNALS, shared_items, student_items
from grader.similarity.sources import SimilarityError, Starter, Submitted, read_run, read_starter, read_submission


@dataclass
class SimilarityReport:
    """Every pair sharing any evidence, ranked, and what the comparison was made of."""

    pairs: list[Pair]
    students: list[str]
    submissions_dir: Path
    index: CodeIndex
    submitted: dict[str, Submitted]
    starter: Starter
    threshold: float = THRESHOLD
    seconds: float = 0.0
    unread: dict[str, str] = field(default_factory=dict)  #: student -> why their code could not be read
    written: list[Path] = field(default_factory=list)  #: the files the report was written to

    @property
    def flagged(self) -> list[Pair]:
        return [p for p in self.pairs if p.flagged]

    @property
    def settings(self) -> dict[str, object]:
        return {"k": K, "window": WINDOW, "common_cut": self.index.cut, "common_fingerprints": len(self.index.common),
                "threshold": self.threshold}


def find_similar(out_dir: Path, *, submissions: Path | None = None, starter: list[Path] | None = None,
                 threshold: float = THRESHOLD, common_fraction: float = COMMON_FRACTION) -> SimilarityReport:
    """Compare every pair of the students graded into ``out_dir``: their code (read from ``submissions``, default:
    the folder the latest ``grade`` run read) less the ``starter`` code, and what the gradebook stored."""
    started = time.perf_counter()
    run = read_run(out_dir)
    folder = Path(submissions) if submissions is not None else run.submissions_dir
    if folder is None:
        raise SimilarityError(f"{out_dir}: the gradebook records no grade run; pass --submissions DIR")
    if not folder.is_dir():
        raise SimilarityError(f"{folder}: no such submissions folder (recorded by the last grade run in {out_dir}); "
                              "pass --submissions DIR where the submissions are now")
    handout = read_starter(list(starter or []))
    starter_hashes = set().union(*(every_kgram(text) for text in handout.texts)) if handout.texts else set()
    students = sorted(run.results)
    submitted = {s: read_submission(folder, s) for s in students}
    docs: dict[str, Document] = {}
    unread: dict[str, str] = {}
    for student, sub in submitted.items():
        if sub.source is None:
            unread[student] = sub.problem or "no code"
            continue
        docs[student] = code_document(sub.source.text)
    index = build_index(docs, starter_hashes, common_fraction)
    code_pairs = shared_counts(index)
    items = {s: student_items(run.results[s], submitted[s].answers) for s in students}
    evidence = shared_items(items, index.cut)
    pairs = []
    for a, b in sorted(set(code_pairs) | set(evidence)):
        found: dict[str, list] = {}
        for e in evidence.get((a, b), []):
            found.setdefault(e.item.signal, []).append(e)
        pairs.append(Pair(a, b, overlap(index, a, b, code_pairs.get((a, b), 0)), found, threshold))
    return SimilarityReport(rank(pairs), students, folder, index, submitted, handout, threshold,
                            time.perf_counter() - started, unread)


__all__ = ["SIGNALS", "THRESHOLD", "Pair", "SimilarityError", "SimilarityReport", "find_similar"]
