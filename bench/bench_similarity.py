"""How long ``grader similarity`` takes for a class: N synthetic submissions (default 500), all pairs.

Each submission is built from a few independently written homeworks, the shipped samples `correct-numpy`,
`correct-torch` and `correct-notebook` of problems/autoencoders: every function is taken from one of them at random
and made the student's own (before each statement, with probability 0.35, a statement of their own; local variables
renamed), the functions shuffled, and one or two helper functions of the student's own added (random statements:
code no one else writes). So any two students share some of the same homework's lines, as independent solutions of
one assignment do (a third of the class starts from each), but not whole functions. A few pairs are planted copies
(one student's file, disguised: renamed variables, functions in reverse order, comments). Their gradebook holds
synthetic results (hidden cases passed, failed with a slip, or failed with an unexplained value) and each student
writes an ``answers.yaml``; a planted copy shares the original's wrong values and answers.

    python bench/bench_similarity.py [-n 500] [--planted 5] [--keep DIR]

It prints the time ``grader similarity`` takes (reading the gradebook and every submission as data, fingerprints,
the inverted index, the grader signals, the CSV, the ranked page and the side-by-side pages), and where the planted
pairs rank.
"""

from __future__ import annotations

import argparse
import ast
import io
import random
import shutil
import sys
import tempfile
import time
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grader import api  # noqa: E402
from grader.gradebook import FILENAME as GRADEBOOK, Gradebook  # noqa: E402
from grader.models import CheckResult, ProblemResult, Status, SubmissionResult, Visibility  # noqa: E402
from grader.notebook import notebook_to_python  # noqa: E402

SAMPLES = ROOT / "problems" / "autoencoders" / "samples"
BASES = ("correct-numpy", "correct-torch", "correct-notebook")
PROBLEMS = ("linear-ae-gradients", "pca-optimality", "seq2seq-tokens", "regularized-ae")
CHECKS = ("matches-reference", "finite-differences", "shape")
HIDDEN_CASES = 4
SLIPS = ("sign", "factor_two", "transposed", "scaled_by_n", "smallest_eigenvectors", "fed_eos", "missing_sos")
SENTENCES = ("The output may be longer or shorter than the input sentence.",
             "Translations reorder words, so step t of the output need not align with step t of the input.",
             "Balancing the singular values minimises the penalty for a fixed product.",
             "The input pipeline mattered more than the model.")


def functions_of(text: str) -> tuple[str, dict[str, str]]:
    """The lines before the first function, and each top-level function's source."""
    tree = ast.parse(text)
    lines = text.splitlines(keepends=True)
    defs = [n for n in tree.body if isinstance(n, ast.FunctionDef)]
    header = "".join(line for line in lines[:defs[0].lineno - 1] if not line.startswith("#"))
    return header, {n.name: "".join(lines[n.lineno - 1:n.end_lineno]) for n in defs}


def load_bases() -> list[tuple[str, dict[str, str]]]:
    bases = []
    for name in BASES:
        folder = SAMPLES / name
        if (folder / "solution.py").is_file():
            text = (folder / "solution.py").read_text(encoding="utf-8")
        else:
            text = notebook_to_python((folder / "solution.ipynb").read_text(encoding="utf-8")).text
        bases.append(functions_of(text))
    return bases


def rename_locals(code: str, rng: random.Random, prefix: str) -> str:
    """Rename the names a function assigns (not its parameters, not keyword arguments, not attributes)."""
    tree = ast.parse(code)
    fn = tree.body[0]
    params = {a.arg for a in fn.args.args}
    stores = sorted({n.id for n in ast.walk(fn) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)} - params)
    renames = {s: f"{prefix}{s.lower()}{rng.randrange(100)}" for s in stores}
    toks = [t for t in tokenize.generate_tokens(io.StringIO(code).readline) if t.type not in (tokenize.NL,
                                                                                             tokenize.COMMENT)]
    lines = code.splitlines(keepends=True)
    edits: dict[int, list] = {}
    depth = 0
    for i, tok in enumerate(toks):
        if tok.type == tokenize.OP:
            depth += (tok.string in "([{") - (tok.string in ")]}")
        keyword = depth > 0 and i + 1 < len(toks) and toks[i + 1].string == "="
        if tok.type == tokenize.NAME and tok.string in renames and not keyword and toks[i - 1].string != ".":
            edits.setdefault(tok.start[0], []).append((tok.start[1], tok.end[1], renames[tok.string]))
    for row, changes in edits.items():
        line = lines[row - 1]
        for start, end, new in sorted(changes, reverse=True):
            line = line[:start] + new + line[end:]
        lines[row - 1] = line
    return "".join(lines)


def random_statement(rng: random.Random, names: list[str]) -> str:
    a, b = rng.choice(names), rng.choice(names)
    forms = (f"{a} * {rng.randint(2, 9)} + {b}", f"np.sum({a} ** {rng.randint(2, 4)}, axis={rng.randint(0, 1)})",
             f"({a} - {b}) / {rng.randint(2, 99)}.0", f"np.maximum({a}, {rng.random():.3f}) - {b}",
             f"{a}[{rng.randint(0, 3)}:] @ {b}", f"np.linalg.norm({a} - {rng.randint(1, 5)} * {b})",
             f"[{a} for _ in range({rng.randint(2, 7)})]", f"np.clip({a}, -{rng.randint(1, 9)}, {b})")
    return rng.choice(forms)


def own_helper(rng: random.Random, number: int) -> str:
    """A function of the student's own: random statements on random names."""
    names = ["a", "b"]
    body = []
    for i in range(rng.randint(4, 9)):
        target = f"t{i}"
        body.append(f"    {target} = {random_statement(rng, names)}\n")
        names.append(target)
    if rng.random() < 0.5:
        guard = f"    if {rng.choice(names)} is None:\n        return {rng.randint(0, 9)}\n"
        body.insert(rng.randint(0, len(body)), guard)
    return f"def helper_{number}(a, b):\n" + "".join(body) + f"    return {names[-1]}\n"


def edit(code: str, rng: random.Random, own: float) -> str:
    """A student's own version of a function: before each statement, with probability ``own``, a statement of their
    own (a computation on the function's arguments), so that two students who started from the same homework share
    its lines only where neither wrote anything between them."""
    fn = ast.parse(code).body[0]
    names = [a.arg for a in fn.args.args] or ["a"]
    starts = sorted({node.lineno for node in ast.walk(fn) if isinstance(node, ast.stmt) and node is not fn})
    lines = code.splitlines(keepends=True)
    for row in reversed(starts):
        if rng.random() < own:
            line = lines[row - 1]
            indent = line[:len(line) - len(line.lstrip())]
            lines.insert(row - 1, f"{indent}own{rng.randrange(1000)} = {random_statement(rng, names)}\n")
    return "".join(lines)


def disguise(text: str, rng: random.Random) -> str:
    """A copy as a copier hands it in: local variables renamed, the functions in reverse order, comments added."""
    header, functions = functions_of(text)
    parts = [f"# part {n}: my own work\n" + rename_locals(code, rng, "cp_")
             for n, code in enumerate(reversed(list(functions.values())), 1)]
    return header + "\n\n" + "\n\n".join(parts)


def make_class(folder: Path, n: int, planted: int, rng: random.Random,
               own: float = 0.35) -> tuple[list[tuple[str, str]], dict]:
    bases = load_bases()
    names = list(bases[0][1])
    results: dict[str, SubmissionResult] = {}
    answers: dict[str, str] = {}
    for i in range(n):
        student = f"s{i:04d}"
        header, _ = bases[rng.randrange(len(bases))]
        parts = []
        for name in names:
            source = [b[1][name] for b in bases if name in b[1]]
            code = rename_locals(edit(rng.choice(source), rng, own), rng, rng.choice(("v_", "my", "x", "")))
            parts.append(code)
        parts += [own_helper(rng, j) for j in range(rng.randint(1, 2))]
        rng.shuffle(parts)
        (folder / student).mkdir(parents=True)
        (folder / student / "solution.py").write_text("import numpy as np\n" + header + "\n\n" + "\n\n".join(parts),
                                                      encoding="utf-8")
        results[student] = synthetic_result(student, rng)
        answers[student] = (f"seq2seq-tokens:\n  design_problem: \"{rng.choice(SENTENCES)} ({rng.randrange(10**6)})\"\n"
                            f"resnet-blog:\n  learned: \"{rng.choice(SENTENCES)}\"\n")
    pairs = []
    for j in range(planted):
        original, copy = f"s{rng.randrange(n):04d}", f"copy{j:02d}"
        text = (folder / original / "solution.py").read_text(encoding="utf-8")
        (folder / copy).mkdir()
        (folder / copy / "solution.py").write_text(disguise(text, rng), encoding="utf-8")
        results[copy] = SubmissionResult(copy, results[original].problems)
        answers[copy] = answers[original]
        pairs.append(tuple(sorted((original, copy))))
    for student, text in answers.items():
        (folder / student / "answers.yaml").write_text(text, encoding="utf-8")
    return pairs, results


def synthetic_result(student: str, rng: random.Random) -> SubmissionResult:
    problems = []
    for problem in PROBLEMS:
        slip = rng.choice(SLIPS) if rng.random() < 0.15 else None
        wrong = rng.random() < 0.1
        systematic = rng.random() < 0.5  # a common wrong scale: the same relative error on every case
        common = f"relative error {rng.choice((0.5, 2, 1.41, 3.7))}"
        checks = []
        for check in CHECKS:
            for case in range(HIDDEN_CASES):
                if slip:
                    status, feedback, diagnosis = Status.FAILED, f"You made the {slip} slip.", slip
                elif wrong:
                    value = common if systematic else f"relative error {rng.random() * 10:.3g}"
                    status, feedback, diagnosis = Status.FAILED, f"out differs: {value}", None
                else:
                    status, feedback, diagnosis = Status.PASSED, "matches the reference", None
                checks.append(CheckResult(problem, check, f"hidden-{case}", Visibility.HIDDEN, status,
                                          1.0 if status is Status.PASSED else 0.0, 1.0, feedback, diagnosis))
        if problem in ("seq2seq-tokens", "resnet-blog"):
            question = "design_problem" if problem == "seq2seq-tokens" else "learned"
            checks.append(CheckResult(problem, question, None, Visibility.HIDDEN, Status.PENDING, 0.0, 2.0,
                                      "awaiting manual grading", "manual", kind="question"))
        problems.append(ProblemResult(problem, problem, checks))
    return SubmissionResult(student, problems)


def store(out: Path, submissions: Path, results: dict[str, SubmissionResult]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with Gradebook.open(out / GRADEBOOK) as book:
        run = book.start_run(assignment=ROOT / "problems" / "autoencoders", spec_hash="-",
                             submissions_dir=submissions.resolve(), problems=list(PROBLEMS), options={})
        for student, result in sorted(results.items()):
            book.save(result, folder=submissions / student, content_hash="-", spec_hash="-", run_id=run,
                      fresh=[p.problem for p in result.problems])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=500, help="submissions (default 500)")
    parser.add_argument("--planted", type=int, default=5, help="planted copies among them (default 5)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", type=Path, help="write the class and the report here (default: a temporary folder)")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    root = args.keep or Path(tempfile.mkdtemp(prefix="bench-similarity-"))
    try:
        subs, out = root / "submissions", root / "out"
        shutil.rmtree(subs, ignore_errors=True)
        shutil.rmtree(out, ignore_errors=True)
        made = time.perf_counter()
        planted, results = make_class(subs, args.n, args.planted, rng)
        store(out, subs, results)
        print(f"made {len(results)} submissions and their gradebook in {time.perf_counter() - made:.1f} s "
              f"({args.planted} planted copies)")
        start = time.perf_counter()
        report = api.similarity_report(out)
        total = time.perf_counter() - start
        ranks = {(p.a, p.b): n for n, p in enumerate(report.pairs, 1)}
        found = sorted(ranks.get(pair, 0) for pair in planted)
        fingerprints = sum(len(d.places) for d in report.index.docs.values())
        print(f"grader similarity: {len(report.students)} submissions, {fingerprints} fingerprints "
              f"({len(report.index.common)} common ones set aside), {len(report.pairs)} pairs sharing anything, "
              f"{len(report.flagged)} flagged")
        print(f"  time: {total:.2f} s in all ({report.seconds:.2f} s reading and comparing, "
              f"{total - report.seconds:.2f} s writing the CSV and {len(report.written) - 1} pages)")
        print(f"  planted copies rank {found} (of {len(report.pairs)}); flagged: "
              f"{sum(1 for p in report.flagged if (p.a, p.b) in set(planted))}/{len(planted)}; "
              f"other pairs flagged: {sum(1 for p in report.flagged if (p.a, p.b) not in set(planted))}; "
              f"groups: {len(report.groups)}")
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
