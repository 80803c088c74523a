"""Mutation testing of an assignment's cases (``grader validate --mutants``): the operators and their stable ids, the
wrappers that build slip mutants and rewrites, and whole runs on a tiny assignment whose cases are first too weak
(a survivor is reported), then strong enough (it is killed), with marks in the spec that explain or go stale."""

from __future__ import annotations

import ast
import re
import shutil
import textwrap
from pathlib import Path

import numpy as np
import pytest

from grader import cli
from grader.api import mutation_test
from grader.fingerprint import assignment_hash
from grader.kit import Kit, KitError
from grader.models import EntryPoint
from grader.mutants.inline import inline
from grader.mutants.operators import OPERATORS, generate
from grader.mutants.rewrites import BUILT_IN
from grader.mutants.run import EQUIVALENT, KILLED, LOSES, NAMED, NOT_VALID, OK, SURVIVED
from grader.mutants.wrappers import wrapped
from grader.mutants.wrong_answers import WRONG_ANSWERS
from grader.spec import SpecError, load_assignment

ROOT = Path(__file__).resolve().parent.parent
BACKPROP = ROOT / "problems" / "backprop"

SOURCE = textwrap.dedent('''\
    import numpy as np


    def f(x, y):
        z = x @ y.T
        if z.sum() < 1e-6:
            z = -z
        order = np.argsort(z[:, 0])[::-1]
        return z[order].sum(axis=1, keepdims=True) / 2


    def g(a):
        return sorted(a)[1:]
    ''')


# --------------------------------------------------------------------------- operators


def test_each_operator_makes_the_mutants_it_names():
    ids = {m.id for m in generate(SOURCE)}
    expected = {
        "f:swap_args:x @ y.T -> y.T @ x", "f:transpose:x @ y.T -> x.T @ y.T", "f:transpose:y.T -> y",
        "f:comparison:z.sum() < 1e-06 -> z.sum() <= 1e-06", "f:tolerance:z.sum() < 1e-06 -> z.sum() < 0.001",
        "f:sign:-z -> z", "f:drop_sort:np.argsort(z[:, 0])[::-1] -> np.argsort(z[:, 0])",
        "f:drop_sort:np.argsort(z[:, 0]) -> list(range(len(z[:, 0])))",
        "f:axis:z[order].sum(axis=1, keepdims=True) -> z[order].sum(axis=0, keepdims=True)",
        "f:axis:z[order].sum(axis=1, keepdims=True) -> z[order].sum(axis=1)",
        "f:factor:z[order].sum(axis=1, keepdims=True) / 2 -> z[order].sum(axis=1, keepdims=True)",
        "f:factor:z[order].sum(axis=1, keepdims=True) / 2 -> 2 * (z[order].sum(axis=1, keepdims=True) / 2)",
        "f:sign:z[order].sum(axis=1, keepdims=True) / 2 -> -(z[order].sum(axis=1, keepdims=True) / 2)",
        "f:constant:z[:, 0] -> z[:, 1]", "f:constant:z[order].sum(axis=1, keepdims=True) / 2 -> "
                                         "z[order].sum(axis=1, keepdims=True) / 3",
        "g:drop_sort:sorted(a) -> a", "g:constant:sorted(a)[1:] -> sorted(a)[2:]",
    }
    assert expected <= ids, sorted(expected - ids)
    mutants = generate(SOURCE)
    original = ast.unparse(ast.parse(SOURCE))
    assert {m.operator for m in mutants} == set(OPERATORS)
    assert len({m.source for m in mutants}) == len(mutants) and original not in {m.source for m in mutants}
    for m in mutants:
        ast.parse(m.source)  # every mutant is valid Python
        assert m.function in ("f", "g") and m.line >= 4
    # the reversal's step is not mutated apart from the reversal itself (drop_sort drops it)
    assert not [i for i in ids if "::-2" in i or "::1]" in i]


def test_ids_survive_edits_elsewhere_and_repeat_with_a_number():
    edited = SOURCE.replace("def g(a):\n", "def g(a):\n    a = list(a) + [0.5]\n    b = a\n") \
                   .replace("import numpy as np\n", "import numpy as np\nimport math\n\nK = 3\n")
    before = {m.id: m.line for m in generate(SOURCE) if m.function == "f"}
    after = {m.id: m.line for m in generate(edited) if m.function == "f"}
    assert before.keys() == after.keys()
    assert all(after[i] == before[i] + 3 for i in before)  # the lines moved, the ids did not
    twice = generate("def h(a, b):\n    return a.T @ b + a.T\n")
    assert {"h:transpose:a.T -> a", "h:transpose:a.T -> a #2"} <= {m.id for m in twice}


def test_only_the_functions_asked_for_are_mutated():
    assert {m.function for m in generate(SOURCE, ["g"])} == {"g"}
    assert generate(SOURCE, []) == []


# --------------------------------------------------------------------------- wrappers: slips' wrong answers, rewrites


def _load(source: str) -> dict:
    namespace: dict = {}
    exec(compile(source, "variant.py", "exec"), namespace)  # noqa: S102 - the engine's own generated code
    return namespace


def test_built_in_wrong_answers_and_rewrites_wrap_the_reference():
    reference = "import numpy as np\n\ndef f(A, B):\n    return A @ B.T, np.asarray(A)\n"
    entry = EntryPoint("f", ("A", "B"), ("C", "A2"))
    A, B = np.arange(6.0).reshape(2, 3), np.ones((4, 3))
    C = A @ B.T
    sign = _load(wrapped(reference, [entry], WRONG_ANSWERS["sign"], "slip sign"))["f"](A, B)
    assert np.array_equal(sign[0], -C) and np.array_equal(sign[1], -A)
    swapped = _load(wrapped(reference, [entry], WRONG_ANSWERS["swapped"], "slip swapped"))["f"](A, B)
    assert np.array_equal(swapped[0], A) and np.array_equal(swapped[1], C)
    transposed = _load(wrapped(reference, [entry], WRONG_ANSWERS["transposed"], "t"))["f"](A, B)
    assert transposed[0].shape == (4, 2) and transposed[1].shape == (3, 2)
    inputs = _load(wrapped(reference, [entry], WRONG_ANSWERS["returned_inputs"], "r"))["f"](A, B)
    assert inputs[1] is not A and np.array_equal(inputs[1], A)  # the input of the output's shape
    float32 = next(r for r in BUILT_IN if r.name == "float32")
    cast = _load(wrapped(reference, [entry], float32.after, "float32", float32.before))["f"](A, B)
    assert cast[0].dtype == np.float32 and np.allclose(cast[0], C)
    lists = next(r for r in BUILT_IN if r.name == "lists")
    assert _load(wrapped(reference, [entry], lists.after, "lists"))["f"](A, B)[0] == C.tolist()


def _uses_a_global(outputs, inputs):
    return {n: np.asarray(v) for n, v in outputs.items()}


def test_a_builder_that_is_not_self_contained_is_refused_with_its_place():
    with pytest.raises(KitError, match=r"test_mutants\.py:\d+: .* uses np, which it does not define"):
        inline(_uses_a_global, "wrong", "slip 'x': wrong=")
    with pytest.raises(KitError, match="is a lambda"):
        inline(lambda outputs, inputs: outputs, "wrong", "slip 'x': wrong=")
    assert "def wrong(outputs, inputs):" in inline(WRONG_ANSWERS["zeros"], "wrong", "zeros")
    kit = Kit()
    with pytest.raises(KitError, match="built in"):
        kit.slip("sign", wrong=WRONG_ANSWERS["sign"])
    with pytest.raises(KitError, match="must be a function"):
        kit.slip("mine", wrong="not a function")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- a tiny assignment, weak then strong

KIT = '''\
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict

from grader.kit import Kit, SlipContext

kit = Kit(__file__)


class Shape(BaseModel):
    model_config = ConfigDict(extra="forbid")
    n: int
    symmetric: bool = False


@kit.generator("matrix", Shape)
def matrix(rng: np.random.Generator, p: Shape) -> dict[str, Any]:
    X = rng.standard_normal((p.n, p.n))
    return {"X": X + X.T if p.symmetric else X}


def column_sums_answer(outputs, inputs):
    return {"s": inputs["X"].sum(axis=0)}


@kit.slip("column_sums", "You summed the columns.", wrong=column_sums_answer)
def column_sums(s: SlipContext) -> bool:
    return s.close(s.got["s"], s.inputs["X"].sum(axis=0))


@kit.slip("halved", "Half of it.")
def halved(s: SlipContext) -> bool:
    return s.all_scaled(0.5)


@kit.rewrite("as_column")
def as_column(outputs, inputs):
    """The sums as a float array of their own (a copy): still right."""
    import numpy

    return {"s": numpy.array(outputs["s"], dtype=float, copy=True)}


@kit.rewrite("elsewhere", entries=["another_entry"])
def elsewhere(outputs, inputs):
    return outputs
'''

SPEC = '''\
id: row-sums
title: Row sums
points: 10
statement: Write row_sums(X) returning s, the sums of the rows of X.
entry:
  row_sums: {args: [X], returns: [s]}
reference: row_sums_ref.py
limits: {call_seconds: 5, problem_seconds: 20}
cases:
  - {id: symmetric, generator: matrix, params: {n: 4, symmetric: true}, seeds: [0, 1], visibility: public}
CASES
checks:
  - name: matches
    check: allclose
    points: 10
    params: {rtol: RTOL, atol: 0.0, diagnose: DIAGNOSE}
MARKS'''


def _assignment(root: Path, *, cases: str = "", rtol: str = "1.0e-6", diagnose: str = "[sign, column_sums]",
                marks: str = "") -> Path:
    root.mkdir(parents=True)
    (root / "assignment.yaml").write_text("id: tiny\ntitle: Tiny\nkit: kit\nproblems: [row-sums]\n")
    (root / "kit").mkdir()
    (root / "kit" / "__init__.py").write_text(KIT)
    (root / "row_sums_ref.py").write_text("import numpy as np\n\n\ndef row_sums(X):\n    return X.sum(axis=1)\n")
    spec = SPEC.replace("CASES", cases).replace("RTOL", rtol).replace("DIAGNOSE", diagnose).replace("MARKS", marks)
    (root / "row-sums.yaml").write_text(spec)
    return root


AXIS = "row_sums:axis:X.sum(axis=1) -> X.sum(axis=0)"
TRANSPOSE = "row_sums:transpose:X.sum(axis=1) -> X.sum(axis=1).T"
NON_SYMMETRIC = "  - {id: square, generator: matrix, params: {n: 5}, seeds: [2], visibility: hidden}"


def test_a_weak_case_set_lets_mutants_survive(tmp_path, bwrap_available):
    root = _assignment(tmp_path / "weak", rtol="1.0e-13")
    (found,) = mutation_test(root)
    fates = {m.mutant.id: m for m in found.mutants}
    assert fates[AXIS].fate == SURVIVED and fates[AXIS].why == "full marks on all 2 cases of matches"
    assert fates[TRANSPOSE].fate == SURVIVED  # a 1-D result's transpose is itself
    assert fates["row_sums:sign:X.sum(axis=1) -> -X.sum(axis=1)"].fate == KILLED
    error = fates["row_sums:constant:X.sum(axis=1) -> X.sum(axis=2)"]
    assert error.fate == KILLED and {r.status for r in error.graded.lost} == {"error"}
    slips = {s.mutant.slip: s for s in found.slips}
    assert slips["sign"].fate == NAMED
    assert slips["column_sums"].fate == SURVIVED  # symmetric matrices: their column sums are their row sums
    rewrites = {r.rewrite: r for r in found.rewrites}
    assert rewrites["float32"].fate == LOSES  # float32 cannot meet rtol 1e-13
    assert rewrites["float32"].graded.lost[0].check == "matches" and rewrites["lists"].fate == OK
    assert found.issues == 4  # two survivors, a surviving slip mutant, a rewrite that loses points


def test_strong_cases_kill_them_and_marks_explain_or_go_stale(tmp_path, bwrap_available, capsys):
    marks = textwrap.dedent(f'''\
        mutants:
          equivalent:
            - {{mutant: "{TRANSPOSE}", reason: "a 1-D result's transpose is itself"}}
            - {{mutant: "row_sums:sign:gone -> away", reason: "a mutant of an older reference"}}
          rewrites_not_valid:
            - {{rewrite: float32, entry: row_sums, reason: "this problem asks for float64"}}
            - {{rewrite: elsewhere, reason: "it is for another problem"}}
        ''')
    root = _assignment(tmp_path / "strong", cases=NON_SYMMETRIC, rtol="1.0e-13",
                       diagnose="[sign, halved, factor_two, column_sums]", marks=marks)
    assert cli.main(["validate", str(root), "--mutants"]) == 1
    out = capsys.readouterr().out
    head = out.splitlines()[0]
    assert re.match(r"row-sums: \d+ mutants, \d+ killed, 1 equivalent, 0 survived; 3 slip mutants: 2 named, "
                    r"1 not named; rewrites: float32 not valid, lists ok, torch ok, as_column ok \(\d", head), head
    assert "  equivalent (1): a 1-D result's transpose is itself" in out  # one line per reason
    assert cli.main(["validate", str(root), "--mutants", "--verbose"]) == 1
    assert f"  equivalent {TRANSPOSE}: a 1-D result's transpose is itself" in capsys.readouterr().out
    assert "  NOT NAMED slip:factor_two: killed, but matches said 'halved' on " in out
    assert "  not valid float32 (row_sums): this problem asks for float64" in out
    assert re.search(r"warning: .*row-sums\.yaml:\d+: mutants\.equivalent: 'row_sums:sign:gone -> away' is no mutant",
                     out)
    assert re.search(r"warning: .*mutants\.rewrites_not_valid: the rewrite 'elsewhere' never applies to any entry", out)
    assert "1 thing(s) to look at" in out.splitlines()[-1]
    # without the slip listed before factor_two, nothing is left unexplained: exit 0
    spec = root / "row-sums.yaml"
    fixed = tmp_path / "fixed"
    shutil.copytree(root, fixed)
    (fixed / "row-sums.yaml").write_text(spec.read_text().replace("halved, ", ""))
    (found,) = mutation_test(fixed)
    assert {s.fate for s in found.slips} == {NAMED} and found.issues == 0
    assert {m.mutant.id: m.fate for m in found.mutants}[AXIS] == KILLED
    assert [r.fate for r in found.rewrites if r.rewrite == "float32"] == [NOT_VALID]
    assert {m.mutant.id for m in found.of(EQUIVALENT)} == {TRANSPOSE}


# --------------------------------------------------------------------------- the spec's key, bad input, the hash


def test_a_malformed_mutants_key_names_file_line_and_field(tmp_path, capsys):
    root = _assignment(tmp_path / "bad", marks="mutants:\n  equivalent:\n    - {mutant: x, reason: '  '}\n  typo: 1\n")
    with pytest.raises(SpecError) as err:
        load_assignment(root)
    text = str(err.value)
    assert re.search(r"row-sums\.yaml:\d+: mutants\.equivalent\[0\]\.reason: give a reason", text)
    assert re.search(r"row-sums\.yaml:\d+: mutants\.typo: unknown field", text)
    assert cli.main(["validate", str(root), "--mutants"]) == 2
    assert "mutants.equivalent[0].reason" in capsys.readouterr().err


def test_names_in_the_marks_are_checked_against_the_reference_and_the_rewrites(tmp_path, capsys):
    marks = ("mutants:\n  functions: [row_sum]\n  rewrites_not_valid:\n"
             "    - {rewrite: float64, reason: why}\n    - {rewrite: lists, entry: rows, reason: why}\n")
    root = _assignment(tmp_path / "names", marks=marks)
    assert cli.main(["validate", str(root), "--mutants"]) == 2
    err = capsys.readouterr().err
    assert re.search(r"row-sums\.yaml:\d+: mutants\.functions\[0\]: no top-level function 'row_sum' in "
                     r"row_sums_ref\.py \(it has: row_sums\)", err)
    assert ("mutants.rewrites_not_valid[0].rewrite: unknown rewrite 'float64'; known: float32, lists, torch, as_column, "
            "elsewhere") in err
    assert "mutants.rewrites_not_valid[1].entry: no entry 'rows' in this problem (it has: row_sums)" in err
    assert cli.main(["validate", str(root), "--mutants", "--problems", "nope"]) == 2
    assert "unknown problem(s) nope" in capsys.readouterr().err
    assert cli.main(["validate", str(root), "--max-mutants", "3"]) == 2
    assert "--max-mutants: only with --mutants" in capsys.readouterr().err


def test_the_mutants_key_leaves_the_assignment_hash_alone(tmp_path):
    root = tmp_path / "copy"
    shutil.copytree(BACKPROP, root, ignore=shutil.ignore_patterns("samples"))
    before = assignment_hash(load_assignment(root))
    spec = root / "causal-attention.yaml"
    text = spec.read_text()
    marked = text.replace("\nlimits:", "\nmutants:\n  equivalent:\n    - {mutant: a, reason: b}\nlimits:", 1)
    assert marked != text
    spec.write_text(marked)
    assert assignment_hash(load_assignment(root)) == before
    spec.write_text(text + "mutants:\n  functions: [causal_attention]\n")
    assert assignment_hash(load_assignment(root)) == before
    spec.write_text(text.replace("atol: 1.0e-9", "atol: 1.0e-8"))
    assert assignment_hash(load_assignment(root)) != before  # what decides grades still counts


# --------------------------------------------------------------------------- a shipped assignment, end to end


def test_the_cli_prints_each_problem_and_the_total(capsys, bwrap_available):
    code = cli.main(["validate", str(BACKPROP), "--mutants", "--problems", "softmax-xent-grad", "--max-mutants", "8"])
    out = capsys.readouterr().out
    lines = out.splitlines()
    # the shipped problem is clean: every sampled mutant killed, each slip's wrong answer named, rewrites kept
    assert re.match(r"softmax-xent-grad: 8 of \d+ mutants \(a sample\), 8 killed, 0 equivalent, 0 survived; "
                    r"4 slip mutants named; rewrites: float32 ok, lists ok, torch ok \(", lines[0]), lines[0]
    assert "note: no slip mutant" not in out
    assert re.match(r".*backprop: 1 problem\(s\) mutation-tested, 8 mutants: .*No unexplained survivor\.$", lines[-1]), \
        lines[-1]
    assert code == 0
