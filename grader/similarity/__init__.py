"""Similarity of a graded batch (``grader similarity OUT``): pairs of submissions ranked by the evidence that one
was copied from the other, as evidence to review, never as a verdict.

- :mod:`~grader.similarity.tokens`: Python source as normalised token streams, one per function (renamed variables,
  comments, docstrings and layout do not count);
- :mod:`~grader.similarity.fingerprints`: winnowed k-gram fingerprints of those streams (Moss's method);
- :mod:`~grader.similarity.index`: the inverted index from fingerprint to students, the starter code and the common
  code taken out, and the pairs that share code;
- :mod:`~grader.similarity.signals`: what only the grader knows: identical wrong values on hidden cases, identical
  sequences of slips, identical written answers;
- :mod:`~grader.similarity.ranking`: each signal's strength, the combined score and the threshold; groups of
  students linked by flagged pairs are reported as groups (:class:`Group`);
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

from grader.similarity.fingerprints import K, MAX_CODE_CHARS, MAX_CODE_TOKENS, WINDOW, Document, code_document, \
    every_kgram
from grader.similarity.index import COMMON_FRACTION, FUNCTION_HELD, FUNCTION_MIN, CodeIndex, build_index, \
    contained_function, overlap, pair_counts
from grader.similarity.ranking import THRESHOLD, Pair, rank
from grader.similarity.signals import SIGNALS, Item, NoEvidence, shared_items, student_items, stub_functions
from grader.similarity.sources import AssignmentInfo, SimilarityError, Starter, Submitted, read_assignment_info, \
    read_run, read_starter, read_submission

MIN_GROUP = 3  #: students linked by flagged pairs reported together as a group
LARGE_GROUP = 10  #: a group this large comes with a note on what it often is


@dataclass
class Group:
    """Students linked by flagged pairs (each flagged with at least one other of them): one finding, since a
    solution shared around a group shows as many pairs."""

    number: int
    students: list[str]
    pairs: list[Pair]  #: the flagged pairs among them, ranked
    shared_code: int  #: own code fingerprints every one of them holds
    smallest_code: int  #: own fingerprints of the member with the fewest
    items: list[Item] = field(default_factory=list)  #: wrong values, slip sequences and answers all of them hold

    @property
    def possible_pairs(self) -> int:
        return len(self.students) * (len(self.students) - 1) // 2

    @property
    def summary(self) -> str:
        """``a group of 6 submissions shares ...``, in words."""
        parts = []
        if self.shared_code:
            share = f" ({self.shared_code / self.smallest_code:.0%} of the smallest one's own)" if self.smallest_code \
                else ""
            parts.append(f"{self.shared_code} own code fingerprint{'s' if self.shared_code != 1 else ''} held by all "
                         f"{len(self.students)}{share}")
        for signal, word in (("values", "wrong value"), ("slips", "slip sequence"), ("answers", "written answer")):
            n = sum(1 for i in self.items if i.signal == signal)
            if n:
                parts.append(f"{n} {word}{'s' if n != 1 else ''} all of them give")
        flagged = f"{len(self.pairs)} of its {self.possible_pairs} pairs are flagged"
        if not parts:
            return (f"a group of {len(self.students)} submissions linked pair by pair ({flagged}), with nothing all "
                    "of them hold")
        return f"a group of {len(self.students)} submissions shares {'; '.join(parts)}: {flagged}"

    @property
    def large(self) -> bool:
        return len(self.students) >= LARGE_GROUP

    @property
    def note(self) -> str:
        """For a large group: what such a group often is, and what to do about it."""
        if not self.large:
            return ""
        return ("A group this large often shares code for an innocent reason (the handout, a tutorial or a published "
                "solution the class followed): give that code with --starter to take it out, or lower --common.")


def find_groups(pairs: list[Pair], index: CodeIndex, items: dict[str, list[Item]]) -> list[Group]:
    """The connected groups of at least :data:`MIN_GROUP` students that flagged pairs link, largest first."""
    parent: dict[str, str] = {}

    def root(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    flagged = [p for p in pairs if p.flagged]
    for p in flagged:
        parent[root(p.a)] = root(p.b)
    members: dict[str, list[str]] = {}
    for student in sorted(parent):
        members.setdefault(root(student), []).append(student)
    groups = []
    for students in members.values():
        if len(students) < MIN_GROUP:
            continue
        inside = set(students)
        own = [index.own.get(s, set()) for s in students]
        common_code = set.intersection(*own) if all(own) else set()
        keys = [{(i.signal, i.key) for i in items.get(s, [])} for s in students]
        common_items = set.intersection(*keys) if keys else set()
        held = sorted({(i.signal, i.key): i for i in items.get(students[0], [])
                       if (i.signal, i.key) in common_items}.values(), key=lambda i: (i.signal, i.label))
        groups.append(Group(0, students, [p for p in flagged if p.a in inside and p.b in inside], len(common_code),
                            min(len(o) for o in own) if own else 0, held))
    groups.sort(key=lambda g: (-len(g.students), -max(p.combined for p in g.pairs), g.students))
    for number, group in enumerate(groups, 1):
        group.number = number
    return groups


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
    groups: list[Group] = field(default_factory=list)  #: students linked by flagged pairs, three or more
    assignment: AssignmentInfo = field(default_factory=AssignmentInfo)
    explained: NoEvidence = field(default_factory=NoEvidence)  #: what was taken as no evidence

    @property
    def flagged(self) -> list[Pair]:
        return [p for p in self.pairs if p.flagged]

    @property
    def truncated(self) -> dict[str, Document]:
        """Students whose code was compared only in part (its first MAX_CODE_CHARS characters or MAX_CODE_TOKENS
        tokens), with their documents."""
        return {s: d for s, d in sorted(self.index.docs.items()) if d.truncated}

    @property
    def settings(self) -> dict[str, object]:
        return {"k": K, "window": WINDOW, "common_cut": self.index.cut, "common_fraction": self.index.fraction,
                "rare_cut": self.index.rare,
                "common_fingerprints": len(self.index.common), "threshold": self.threshold,
                "function_min": FUNCTION_MIN, "function_held": FUNCTION_HELD, "max_code_chars": MAX_CODE_CHARS,
                "max_code_tokens": MAX_CODE_TOKENS}


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
    if not 0 < common_fraction <= 1:
        raise SimilarityError(f"the common-code share must be above 0 and at most 1, got {common_fraction:g}")
    handout = read_starter(list(starter or []))
    starter_hashes = set().union(*(every_kgram(text) for text in handout.texts)) if handout.texts else set()
    students = sorted(run.results)
    problems = sorted({p.problem for r in run.results.values() for p in r.problems})
    info = read_assignment_info(Path(run.assignment) if run.assignment else None, problems)
    submitted = {s: read_submission(folder, s) for s in students}
    docs: dict[str, Document] = {}
    unread: dict[str, str] = {}
    stubs: dict[str, set[str]] = {}
    entry_names = set().union(*info.entries.values()) if info.entries else set()
    for student, sub in submitted.items():
        if sub.source is None:
            unread[student] = sub.problem or "no code"
            continue
        docs[student] = doc = code_document(sub.source.text)
        if info.entries:
            names = stub_functions(sub.source.text[:doc.compared_chars], entry_names)
            stubs[student] = {p for p, entries in info.entries.items() if entries & names}
    index = build_index(docs, starter_hashes, common_fraction)
    code_pairs, rare_pairs = pair_counts(index)
    explained = NoEvidence.build(run.results, stubs, handout.answers, info.prompts)
    items = {s: student_items(run.results[s], submitted[s].answers, explained) for s in students}
    evidence = shared_items(items, index.rare)
    pairs = []
    for a, b in sorted(set(code_pairs) | set(evidence)):
        found: dict[str, list] = {}
        for e in evidence.get((a, b), []):
            found.setdefault(e.item.signal, []).append(e)
        shared = code_pairs.get((a, b), 0)
        rare = rare_pairs.get((a, b), 0)
        function = contained_function(index, a, b) if rare >= FUNCTION_HELD * FUNCTION_MIN else None
        pairs.append(Pair(a, b, overlap(index, a, b, shared), found, threshold, function))
    ranked = rank(pairs)
    return SimilarityReport(ranked, students, folder, index, submitted, handout, threshold,
                            time.perf_counter() - started, unread, groups=find_groups(ranked, index, items),
                            assignment=info, explained=explained)


__all__ = ["COMMON_FRACTION", "SIGNALS", "THRESHOLD", "Group", "Pair", "SimilarityError", "SimilarityReport",
           "find_similar"]
