"""Problem kits: loading an assignment's own code, its errors, and `grader new`, whose skeleton validates."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from grader import cli
from grader.kit import Kit, KitError, load_kit
from grader.scaffold import ScaffoldError, new_problem
from grader.spec import SpecError, load_assignment


def _skeleton(root: Path) -> Path:
    new_problem("matrix-product", root)
    return root


def test_a_new_problem_validates_and_grades(tmp_path, capsys):
    root = _skeleton(tmp_path / "course")
    assignment = load_assignment(root)
    assert [p.id for p in assignment.problems] == ["matrix-product"]
    kit = assignment.kit
    assert "matrix_product_matrices" in kit.generators and "matrix_product_forgot_transpose" in kit.slips
    assert "matrix_product_shape" in kit.checks  # a check of the kit's own
    assert cli.main(["validate", str(root)]) == 0
    assert "every reference solution earns full marks" in capsys.readouterr().out


def test_the_skeletons_slip_and_check_name_a_wrong_answer(tmp_path):
    from grader.api import grade_batch

    root = _skeleton(tmp_path / "course")
    subs = tmp_path / "subs"
    for name, body in {"right": "return A @ B.T", "transposed": "return B @ A.T", "flat": "return (A @ B.T).ravel()"}.items():
        (subs / name).mkdir(parents=True)
        (subs / name / "solution.py").write_text(f"def matrix_product(A, B):\n    {body}\n")
    batch = grade_batch(subs, root, tmp_path / "out", sandbox="auto")
    results = {r.student: r.problems[0] for r in batch.results}
    assert results["right"].score == results["right"].max_score == 10
    wrong = [c for c in results["transposed"].checks if c.check == "matches-reference" and c.case == "small"]
    assert wrong and wrong[0].diagnosis == "matrix_product_forgot_transpose" and "B @ A.T" in wrong[0].feedback
    shape = [c for c in results["flat"].checks if c.check == "shape"]
    assert shape and all(c.score == 0 and "expected (" in c.feedback for c in shape)


def test_a_second_problem_joins_the_same_kit(tmp_path):
    root = _skeleton(tmp_path / "course")
    made = new_problem("second-one", root, title="The second one")
    assert root / "assignment.yaml" in made.changed and root / "kit" / "__init__.py" in made.changed
    assignment = load_assignment(root)
    assert [p.id for p in assignment.problems] == ["matrix-product", "second-one"]
    assert assignment.problem("second-one").title == "The second one"


def test_new_adds_a_kit_to_an_assignment_without_one_and_keeps_its_comments(tmp_path):
    root = tmp_path / "course"
    root.mkdir()
    (root / "assignment.yaml").write_text("id: course\ntitle: Course\n# the problems\nproblems:\n  - written\n"
                                          "limits:\n  call_seconds: 5\n")
    (root / "written.yaml").write_text(textwrap.dedent("""\
        id: written
        title: Written
        statement: a question
        points: 1
        questions:
          - {id: q, kind: single_choice, points: 1, prompt: "yes?", options: ["yes", "no"], answer: "yes"}
        """))
    new_problem("matrix-product", root)
    text = (root / "assignment.yaml").read_text()
    assert "# the problems" in text and "kit: kit" in text
    assignment = load_assignment(root)
    assert [p.id for p in assignment.problems] == ["written", "matrix-product"]


def test_new_never_overwrites(tmp_path):
    root = _skeleton(tmp_path / "course")
    before = (root / "matrix-product.yaml").read_text()
    with pytest.raises(ScaffoldError, match="exists already"):
        new_problem("matrix-product", root)
    with pytest.raises(ScaffoldError, match="lowercase"):
        new_problem("Bad_Id", root)
    assert (root / "matrix-product.yaml").read_text() == before


def test_a_kit_that_fails_to_import_is_named_with_its_file_and_line(tmp_path):
    root = _skeleton(tmp_path / "course")
    module = root / "kit" / "matrix_product.py"
    module.write_text(module.read_text() + "\n\nraise RuntimeError('a typo in the kit')\n")
    with pytest.raises(SpecError) as err:
        load_assignment(root)
    text = str(err.value)
    line = len(module.read_text().splitlines())
    assert "assignment.yaml" in text and f"{module}:{line}" in text and "a typo in the kit" in text


def test_a_spec_naming_what_no_kit_registers_is_located(tmp_path):
    root = _skeleton(tmp_path / "course")
    spec = root / "matrix-product.yaml"
    spec.write_text(spec.read_text().replace("generator: matrix_product_matrices", "generator: matrices_typo", 1)
                    .replace("check: matrix_product_shape", "check: shape_typo"))
    with pytest.raises(SpecError) as err:
        load_assignment(root)
    text = str(err.value)
    assert "matrix-product.yaml:17: cases[0].generator: unknown generator 'matrices_typo'" in text
    assert "matrix_product_matrices" in text  # the known names, to pick from
    assert "unknown check 'shape_typo'" in text and "matrix_product_shape" in text


def test_a_kit_may_not_take_a_built_in_name():
    kit = Kit()
    with pytest.raises(KitError, match="built in"):
        kit.check("allclose")
    with pytest.raises(KitError, match="built in"):
        kit.slip("sign", "no")


def test_a_kit_without_a_kit_object_is_refused(tmp_path):
    (tmp_path / "kit.py").write_text("x = 1\n")
    with pytest.raises(KitError, match="defines no `kit = Kit"):
        load_kit(tmp_path / "kit.py")


def test_the_engine_has_no_generator_of_its_own(tmp_path):
    """Without a kit, an assignment can name the built-in checks and slips only: no generator is built in."""
    root = _skeleton(tmp_path / "course")
    (root / "assignment.yaml").write_text((root / "assignment.yaml").read_text().replace("kit: kit\n", ""))
    with pytest.raises(SpecError, match="unknown generator 'matrix_product_matrices'; known: none"):
        load_assignment(root)


def test_a_sandbox_module_rebuilds_a_kit_object_for_the_students_code(tmp_path):
    """An input object whose class has __sandbox__ reaches the student's code rebuilt by the kit's module."""
    from grader.models import Limits
    from grader.sandbox.runner import Call, run_calls

    builder = tmp_path / "counter.py"
    builder.write_text("class Counter:\n    def __init__(self, start):\n        self.n = start\n"
                       "    def __call__(self):\n        self.n += 1\n        return self.n\n\n"
                       "def build(spec):\n    return Counter(spec['start'])\n")

    class Counter:
        def __sandbox__(self):
            return "counter", {"start": 41}

    source = "def use(counter):\n    return [counter(), counter()]\n"
    limits = Limits(call_seconds=20.0, problem_seconds=40.0, memory_mb=4096, output_kb=64, load_seconds=20.0)
    result = run_calls(source, "solution.py", [Call("c", "use", (Counter(),))], limits,
                       modules={"counter": builder})
    assert result.calls["c"].value == [42, 43], result.calls["c"].message
    missing = run_calls(source, "solution.py", [Call("c", "use", (Counter(),))], limits)
    assert "no sandbox module 'counter'" in missing.calls["c"].message


def test_the_shipped_kits_are_copied_whole_into_a_release(tmp_path):
    from grader.release import release_assignment

    root = _skeleton(tmp_path / "course")
    release = release_assignment(root, tmp_path / "handout")
    assert (tmp_path / "handout" / "kit" / "matrix_product.py").read_bytes() == \
        (root / "kit" / "matrix_product.py").read_bytes()
    assert any("kit" in note for note in release.notes)
    assert load_assignment(tmp_path / "handout").kit.generators.names() == ["matrix_product_matrices"]


def _grade_one(tmp_path, root: Path, body: str):
    from grader.api import grade_batch

    subs = tmp_path / "subs"
    (subs / "student").mkdir(parents=True)
    (subs / "student" / "solution.py").write_text(f"def matrix_product(A, B):\n    {body}\n")
    return grade_batch(subs, root, tmp_path / "out").results[0].problems[0]


def test_a_slip_that_raises_is_named_on_the_terminal_and_costs_no_check(tmp_path, capsys):
    root = _skeleton(tmp_path / "course")
    module = root / "kit" / "matrix_product.py"
    module.write_text(module.read_text().replace("    (got,), (expected,) = s.got.values(), s.expected.values()",
                                                 "    got, expected = s.got['Cc'], s.expected['C']"))
    problem = _grade_one(tmp_path, root, "return -(A @ B.T)")
    err = capsys.readouterr().err
    assert "warning: slip 'matrix_product_forgot_transpose' raised KeyError: 'Cc'" in err
    assert f"{module}:" in err and "a typo in an input or output name?" in err
    assert err.count("warning: slip") == 1  # once, not once per case
    lost = [c for c in problem.checks if c.check == "matches-reference"]  # the next slip in the list names it
    assert lost and all(c.status.value == "failed" and c.diagnosis == "sign" for c in lost)
    assert all(c.score == c.max_score for c in problem.checks if c.check == "shape")


def test_a_kit_check_that_raises_costs_that_check_only(tmp_path, capsys):
    root = _skeleton(tmp_path / "course")
    module = root / "kit" / "matrix_product.py"
    module.write_text(module.read_text().replace('    n, m = len(data.inputs["A"]), len(data.inputs["B"])',
                                                 '    n, m = len(data.inputs["A"]), len(data.inputs["B"]) / 0'))
    problem = _grade_one(tmp_path, root, "return A @ B.T")
    shape = [c for c in problem.checks if c.check == "shape"]
    assert shape and all(c.status.value == "error" and "not your code's fault" in c.feedback for c in shape)
    assert all(c.score == c.max_score for c in problem.checks if c.check == "matches-reference")
    err = capsys.readouterr().err
    assert "the check 'matrix_product_shape' (shape) failed" in err and f"{module}:" in err and "ZeroDivisionError" in err


def test_a_forgotten_kit_import_is_pointed_out(tmp_path):
    root = _skeleton(tmp_path / "course")
    init = root / "kit" / "__init__.py"
    init.write_text(init.read_text().replace("from . import matrix_product", "# from . import matrix_product"))
    with pytest.raises(SpecError) as err:
        load_assignment(root)
    assert "kit/matrix_product.py never imported" in str(err.value)


def test_a_syntax_error_in_a_kit_module_names_that_module(tmp_path):
    root = _skeleton(tmp_path / "course")
    module = root / "kit" / "matrix_product.py"
    module.write_text(module.read_text() + "\ndef broken(:\n")
    with pytest.raises(SpecError) as err:
        load_assignment(root)
    assert f"{module}:{len(module.read_text().splitlines())}: SyntaxError" in str(err.value)


def test_a_failing_reference_names_its_file_and_line(tmp_path, capsys):
    root = _skeleton(tmp_path / "course")
    reference = root / "matrix_product_ref.py"
    reference.write_text(reference.read_text().replace("return np.asarray(A) @ np.asarray(B).T",
                                                       "return np.asarray(A) @ np.asarray(B)"))
    assert cli.main(["validate", str(root), "--no-samples"]) == 2
    assert f"{reference}:7: ValueError" in capsys.readouterr().err


def test_a_kit_fixed_after_a_failed_import_loads_afresh(tmp_path):
    root = _skeleton(tmp_path / "course")
    init = root / "kit" / "__init__.py"
    good = init.read_text()
    init.write_text(good + "raise ImportError('half-written')\n")  # after matrix_product registered on that Kit
    with pytest.raises(SpecError, match="half-written"):
        load_assignment(root)
    init.write_text(good)
    assert load_assignment(root).problem("matrix-product").kit.generators.names() == ["matrix_product_matrices"]


def test_a_registration_for_an_undeclared_driver_or_check_is_refused(tmp_path):
    root = _skeleton(tmp_path / "course")
    module = root / "kit" / "matrix_product.py"
    module.write_text(module.read_text() + "\n\n@kit.companion('trainer')\ndef companion(ctx):\n    return None\n")
    with pytest.raises(SpecError, match="a companion for driver 'trainer', which it does not declare"):
        load_assignment(root)


def test_editing_the_kit_regrades(tmp_path):
    from grader.fingerprint import assignment_hash

    root = _skeleton(tmp_path / "course")
    before = assignment_hash(load_assignment(root))
    module = root / "kit" / "matrix_product.py"
    module.write_text(module.read_text() + "\n# a comment\n")
    (root / "samples").mkdir()
    (root / "samples.yaml").write_text("samples: {}\n")  # samples decide no grade: they are not hashed
    import grader.kit as kits

    kits._loaded.clear()  # a new process would load the edited kit
    assert assignment_hash(load_assignment(root)) != before


def test_new_refuses_ids_python_cannot_name_and_single_file_kits(tmp_path):
    root = _skeleton(tmp_path / "course")
    for bad in ("lambda", "kit"):
        with pytest.raises(ScaffoldError, match="taken"):
            new_problem(bad, root)
    single = tmp_path / "single"
    single.mkdir()
    (single / "kit.py").write_text("from grader.kit import Kit\nkit = Kit(__file__)\n")
    with pytest.raises(ScaffoldError, match="single module"):
        new_problem("matrix-product", single)
    assert not (single / "kit").exists()


def test_a_kit_module_beside_a_kit_package_is_refused(tmp_path):
    root = _skeleton(tmp_path / "course")
    (root / "kit.py").write_text("from grader.kit import Kit\nkit = Kit(__file__)\n")
    with pytest.raises(SpecError, match="both kit.py and kit/"):
        load_assignment(root)


def test_a_failing_across_cases_hook_leaves_the_verdicts(tmp_path, capsys):
    root = _skeleton(tmp_path / "course")
    module = root / "kit" / "matrix_product.py"
    module.write_text(module.read_text() + "\n\n@kit.across_cases('matrix_product_shape')\n"
                                           "def hook(params, results, values):\n    raise RuntimeError('hook bug')\n")
    problem = _grade_one(tmp_path, root, "return A @ B.T")
    assert problem.score == problem.max_score == 10
    err = capsys.readouterr().err
    assert "the across-cases hook of 'matrix_product_shape' (shape) failed" in err and f"{module}:" in err
