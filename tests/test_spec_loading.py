"""Loading assignment specs: the shipped one loads, and each kind of mistake is reported with its location."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from grader.cli import main
from grader.spec import SpecError, SpecIssue, load_assignment

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "problems" / "autoencoders"
PROBLEM = "linear-ae-gradients"
PROBLEM_FILE = f"{PROBLEM}.yaml"


# --------------------------------------------------------------------------- helpers


@pytest.fixture
def assignment(tmp_path: Path) -> Path:
    """A private copy of the shipped assignment that a test may break.

    Only ``linear-ae-gradients`` stays listed, so each test sees the issues it plants and no others.
    """
    target = tmp_path / "autoencoders"
    shutil.copytree(SHIPPED, target)
    path = target / "assignment.yaml"
    text, count = re.subn(r"(?m)^problems:\n(?:[ \t]*(?:- .*|#.*)?\n)+?(?=\S)",
                          f"problems:\n  - {PROBLEM}\n", path.read_text(encoding="utf-8"))
    assert count == 1, "could not find the list of problems in assignment.yaml"
    path.write_text(text, encoding="utf-8")
    return target


def edit(folder: Path, name: str, old: str, new: str) -> int:
    """Replace the one occurrence of ``old`` in ``folder/name``; return the 1-based line where ``new`` starts."""
    path = folder / name
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} should occur exactly once in {name}"
    start = text.index(old)
    path.write_text(text.replace(old, new), encoding="utf-8")
    return text.count("\n", 0, start) + 1


def issues_of(folder: Path) -> list[SpecIssue]:
    with pytest.raises(SpecError) as info:
        load_assignment(folder)
    issues = info.value.issues
    assert issues, "a SpecError must list at least one issue"
    # the exception's text lists every issue, so a caller printing it sees them all
    assert str(info.value) == "\n".join(str(i) for i in issues)
    return issues


def issue_at(issues: list[SpecIssue], field: str) -> SpecIssue:
    found = [i for i in issues if i.field == field]
    assert len(found) == 1, f"expected one issue at {field!r}, got {[str(i) for i in issues]}"
    return found[0]


# --------------------------------------------------------------------------- the shipped assignment


def test_shipped_assignment_loads():
    a = load_assignment(SHIPPED)
    assert a.id == "autoencoders"
    assert a.root == SHIPPED.resolve()
    ids = [p.id for p in a.problems]
    assert ids[0] == PROBLEM and len(ids) == len(set(ids))
    for problem in a.problems:
        assert problem.points > 0
        total = sum(c.points for c in problem.checks) + sum(q.points for q in problem.questions)
        assert total == pytest.approx(problem.points), problem.id
        assert problem.source == SHIPPED / f"{problem.id}.yaml"
        assert problem.reference.is_file() if problem.checks else problem.reference is None
    assert a.max_score == pytest.approx(sum(p.points for p in a.problems))
    p = a.problem(PROBLEM)
    assert p.points == 10
    assert sum(c.points for c in p.checks) == 10
    assert p.source == SHIPPED / PROBLEM_FILE
    assert p.reference.is_file() and p.reference.name == "linear_ae_gradients_ref.py"
    assert p.statement and not p.statement.endswith("\n")


def test_shipped_problem_details():
    p = load_assignment(SHIPPED).problem(PROBLEM)
    (entry,) = p.entries
    assert entry.name == "linear_ae_gradients"
    assert entry.args == ("X", "W1", "W2") and entry.returns == ("dW1", "dW2")
    assert p.entry("linear_ae_gradients") is entry

    assert {c.check for c in p.checks} == {"allclose", "finite_difference"}
    by_check = {c.check: c for c in p.checks}
    assert by_check["allclose"].points == 7 and by_check["finite_difference"].points == 3
    # params are the checks' validated parameter objects, not raw dicts
    assert by_check["allclose"].params.rtol == pytest.approx(1e-5)
    slips = {ref.name: ref.feedback for ref in by_check["allclose"].params.diagnose}
    assert "transposed" in slips and "scaled_by_n" in slips  # a built-in slip and one of the kit's
    # the spec words the generic slips for its problem ({name: feedback}); the others keep their own feedback
    assert "dL/dW1 is k x m, like W1" in slips["transposed"] and "minus sign" in slips["sign"]
    assert slips["swapped"] is None and slips["scaled_by_n"] is None
    assert by_check["finite_difference"].params.wrt == {"W1": "dW1", "W2": "dW2"}

    # a case with several seeds becomes one case per seed; every case id is unique
    ids = [c.id for c in p.cases]
    assert len(ids) == len(set(ids))
    assert {"hidden-wide-s101", "hidden-wide-s102"} <= set(ids)
    assert "hidden-wide" not in ids
    tiny = next(c for c in p.cases if c.id == "hidden-tiny")
    assert tiny.seed == 103 and tiny.generator == "gaussian_autoencoder"
    # generator params come back as the validated model's plain values
    assert set(tiny.params) == {"m", "n", "k"} and all(type(v) is int for v in tiny.params.values())
    assert all(c.params["k"] <= c.params["m"] for c in p.cases)
    assert all(c.entry == "linear_ae_gradients" for c in p.cases)

    # the problem's limits override the assignment's, which override the defaults
    assert p.limits.call_seconds == 5 and p.limits.problem_seconds == 20
    assert p.limits.memory_mb == 4096 and p.limits.output_kb == 64


def test_a_copy_loads_too(assignment: Path):
    # the copy itself is valid, so every failure below is due to the edit alone
    loaded = load_assignment(assignment)
    assert [p.id for p in loaded.problems] == [PROBLEM]
    assert loaded.problem(PROBLEM).points == 10


# --------------------------------------------------------------------------- bad specs


def test_unknown_field_typo(assignment: Path):
    line = edit(assignment, PROBLEM_FILE, "points: 10\n", "pionts: 10\n")
    issues = issues_of(assignment)
    typo = issue_at(issues, "pionts")
    assert typo.path == assignment / PROBLEM_FILE
    assert typo.line == line == 3
    assert "unknown field" in typo.message
    missing = issue_at(issues, "points")
    assert "required" in missing.message and "missing" in missing.message
    assert f"{PROBLEM_FILE}:{line}: pionts: unknown field" in "\n".join(str(i) for i in issues)


def test_unknown_nested_field(assignment: Path):
    line = edit(assignment, PROBLEM_FILE, "    returns: [dW1, dW2]\n", "    returns: [dW1, dW2]\n    retruns: [a]\n")
    issue = issue_at(issues_of(assignment), "entry.linear_ae_gradients.retruns")
    assert issue.line == line + 1
    assert "unknown field" in issue.message


def test_wrong_type(assignment: Path):
    line = edit(assignment, PROBLEM_FILE, "points: 10\n", "points: ten\n")
    issue = issue_at(issues_of(assignment), "points")
    assert issue.path == assignment / PROBLEM_FILE and issue.line == line
    assert "valid number" in issue.message  # what was expected
    assert "'ten'" in issue.message  # and what was found


def test_unknown_check(assignment: Path):
    line = edit(assignment, PROBLEM_FILE, "check: allclose\n", "check: allclos\n")
    issue = issue_at(issues_of(assignment), "checks[0].check")
    assert issue.path == assignment / PROBLEM_FILE and issue.line == line
    assert "unknown check 'allclos'" in issue.message
    assert "allclose" in issue.message.split("known:")[1]  # lists what it could have been
    assert "finite_difference" in issue.message


def test_unknown_generator(assignment: Path):
    old = "    generator: gaussian_autoencoder\n    params: {m: 6, n: 10, k: 1}\n"
    line = edit(assignment, PROBLEM_FILE, old, old.replace("gaussian_autoencoder", "gausian"))
    issue = issue_at(issues_of(assignment), "cases[1].generator")
    assert issue.path == assignment / PROBLEM_FILE and issue.line == line
    assert "unknown generator 'gausian'" in issue.message
    assert "gaussian_autoencoder" in issue.message


def test_negative_rtol(assignment: Path):
    line = edit(assignment, PROBLEM_FILE, "rtol: 1.0e-5\n", "rtol: -1\n")
    issue = issue_at(issues_of(assignment), "checks[0].params.rtol")
    assert issue.path == assignment / PROBLEM_FILE and issue.line == line
    assert "greater than or equal to 0" in issue.message and "-1" in issue.message


def test_bad_finite_difference_params(assignment: Path):
    loss_line = edit(assignment, PROBLEM_FILE, "loss: linear_autoencoder\n", "loss: mse\n")
    dirs_line = edit(assignment, PROBLEM_FILE, "directions: 3\n", "directions: 0\n")
    issues = issues_of(assignment)
    loss = issue_at(issues, "checks[1].params.loss")
    assert loss.line == loss_line and "unknown loss 'mse'" in loss.message
    assert "linear_autoencoder" in loss.message
    dirs = issue_at(issues, "checks[1].params.directions")
    assert dirs.line == dirs_line and "greater than or equal to 1" in dirs.message


def _diagnose_line(folder: Path) -> int:
    """The 1-based line of the first check's ``diagnose:`` (its block list starts below it)."""
    return (folder / PROBLEM_FILE).read_text(encoding="utf-8").splitlines().index("      diagnose:") + 1


def test_unknown_slip(assignment: Path):
    line = edit(assignment, PROBLEM_FILE, "        - swapped\n", "        - swaped\n")
    assert line == _diagnose_line(assignment) + 1
    issue = issue_at(issues_of(assignment), "checks[0].params.diagnose")
    assert issue.path == assignment / PROBLEM_FILE and issue.line == _diagnose_line(assignment)
    assert "unknown slip(s) ['swaped']" in issue.message
    known = issue.message.split("known:")[1]
    assert "swapped" in known and "scaled_by_n" in known  # the built-in slips and the kit's


def test_unknown_or_malformed_slip_with_its_own_feedback(assignment: Path):
    edit(assignment, PROBLEM_FILE, "        - sign: \"Your values", "        - sgn: \"Your values")
    issue = issue_at(issues_of(assignment), "checks[0].params.diagnose")
    assert issue.line == _diagnose_line(assignment) and "unknown slip(s) ['sgn']" in issue.message
    edit(assignment, PROBLEM_FILE, "        - sgn: \"Your values", "        - sign: 3\n        - x: \"Your values")
    issue = issue_at(issues_of(assignment), "checks[0].params.diagnose")
    assert "expected a slip name or {name: feedback}" in issue.message


def test_points_do_not_add_up(assignment: Path):
    edit(assignment, PROBLEM_FILE, "    points: 3\n", "    points: 4\n")
    issue = issue_at(issues_of(assignment), "points")
    assert issue.path == assignment / PROBLEM_FILE
    assert issue.line == 3  # the problem's `points: 10`
    assert "add up to 11, not 10" in issue.message


def test_invalid_yaml_reports_the_line(assignment: Path):
    line = edit(assignment, PROBLEM_FILE, "    seeds: [1]\n", "    seeds: [1]\n    visibility: @public\n") + 1
    issues = issues_of(assignment)
    assert len(issues) == 1
    (issue,) = issues
    assert issue.path == assignment / PROBLEM_FILE
    assert issue.line == line
    assert issue.field == ""
    assert issue.message.startswith("invalid YAML") and "'@'" in issue.message
    assert str(issue) == f"{assignment / PROBLEM_FILE}:{line}: {issue.message}"


def test_invalid_yaml_in_assignment_file(assignment: Path):
    line = edit(assignment, "assignment.yaml", "  - linear-ae-gradients\n", "  - linear-ae-gradients\n\t- other\n") + 1
    (issue,) = issues_of(assignment)
    assert issue.path == assignment / "assignment.yaml" and issue.line == line
    assert issue.message.startswith("invalid YAML")


def test_listed_problem_without_file(assignment: Path):
    line = edit(assignment, "assignment.yaml", "  - linear-ae-gradients\n",
                "  - linear-ae-gradients\n  - pca-projection\n") + 1
    issue = issue_at(issues_of(assignment), "problems[1]")
    assert issue.path == assignment / "assignment.yaml" and issue.line == line
    assert "pca-projection.yaml" in issue.message


def test_missing_reference_file(assignment: Path):
    (assignment / "linear_ae_gradients_ref.py").unlink()
    issue = issue_at(issues_of(assignment), "reference")
    assert issue.path == assignment / PROBLEM_FILE
    text = (assignment / PROBLEM_FILE).read_text().splitlines()
    assert text[issue.line - 1].startswith("reference:")
    assert "no reference solution" in issue.message and "linear_ae_gradients_ref.py" in issue.message


def test_generator_constraint_k_above_m(assignment: Path):
    line = edit(assignment, PROBLEM_FILE, "params: {m: 6, n: 10, k: 1}", "params: {m: 6, n: 10, k: 7}")
    issue = issue_at(issues_of(assignment), "cases[1].params")
    assert issue.path == assignment / PROBLEM_FILE and issue.line == line
    assert "k (7) must not exceed m (6)" in issue.message


def test_generator_param_of_wrong_type(assignment: Path):
    line = edit(assignment, PROBLEM_FILE, "params: {m: 6, n: 10, k: 1}", "params: {m: 6, n: ten, k: 1}")
    issue = issue_at(issues_of(assignment), "cases[1].params.n")
    assert issue.line == line and "valid integer" in issue.message


def test_problem_id_must_match_file_name(assignment: Path):
    line = edit(assignment, PROBLEM_FILE, "id: linear-ae-gradients\n", "id: linear-ae-grads\n")
    issue = issue_at(issues_of(assignment), "id")
    assert issue.line == line == 1
    assert "'linear-ae-gradients'" in issue.message and "'linear-ae-grads'" in issue.message


def test_check_naming_an_unknown_case(assignment: Path):
    line = edit(assignment, PROBLEM_FILE, "    points: 3\n", "    points: 3\n    cases: [basic, nope]\n") + 1
    issue = issue_at(issues_of(assignment), "checks[1].cases[1]")
    assert issue.line == line and "'nope'" in issue.message


def test_every_issue_is_reported_at_once(assignment: Path):
    check_line = edit(assignment, PROBLEM_FILE, "check: allclose\n", "check: allclos\n")
    gen_line = edit(assignment, PROBLEM_FILE, "params: {m: 6, n: 10, k: 1}", "params: {m: 6, n: 10, k: 9}")
    lines = edit(assignment, "assignment.yaml", "  - linear-ae-gradients\n", "  - linear-ae-gradients\n  - nope\n")
    issues = issues_of(assignment)
    assert issue_at(issues, "checks[0].check").line == check_line
    assert issue_at(issues, "cases[1].params").line == gen_line
    assert issue_at(issues, "problems[1]").line == lines + 1
    assert len(issues) == 3


def test_not_a_folder(tmp_path: Path):
    (issue,) = issues_of(tmp_path / "missing")
    assert issue.line is None and "not a folder" in issue.message


def test_missing_assignment_file(assignment: Path):
    (assignment / "assignment.yaml").unlink()
    (issue,) = issues_of(assignment)
    assert issue.path == assignment / "assignment.yaml" and issue.line is None
    assert issue.message == "file not found"


def test_top_level_must_be_a_mapping(assignment: Path):
    (assignment / PROBLEM_FILE).write_text("- just\n- a list\n", encoding="utf-8")
    (issue,) = issues_of(assignment)
    assert issue.path == assignment / PROBLEM_FILE and issue.line == 1
    assert "mapping" in issue.message


# --------------------------------------------------------------------------- the command line


def test_cli_validate_reports_spec_errors(assignment: Path, capsys):
    line = edit(assignment, PROBLEM_FILE, "rtol: 1.0e-5\n", "rtol: -1\n")
    code = main(["validate", str(assignment)])
    out, err = capsys.readouterr()
    assert code == 2
    assert "Traceback" not in out + err
    assert "specs have 1 issue(s)" in err
    assert f"{assignment / PROBLEM_FILE}:{line}: checks[0].params.rtol: " in err
    assert "greater than or equal to 0" in err
    assert "specs valid" not in out


def test_cli_validate_reports_invalid_yaml(assignment: Path, capsys):
    line = edit(assignment, PROBLEM_FILE, "points: 10\n", "points: [10\n")
    code = main(["validate", str(assignment)])
    out, err = capsys.readouterr()
    assert code == 2
    assert "Traceback" not in out + err
    assert f"{PROBLEM_FILE}:" in err and "invalid YAML" in err
    reported = int(err.split(f"{PROBLEM_FILE}:")[1].split(":")[0])
    assert reported >= line  # the parser notices the unclosed bracket at or after it


def test_cli_validate_missing_folder(tmp_path: Path, capsys):
    code = main(["validate", str(tmp_path / "nowhere")])
    out, err = capsys.readouterr()
    assert code == 2
    assert "not a folder" in err and "Traceback" not in out + err
