"""Leaderboards: the spec's ``leaderboard:`` key (validated, left out of fingerprints and releases), the ranking and
the pseudonyms from stored results, what a student's report and the class summary show, Gradescope's
``leaderboard`` array (from the writer and from ``grader gradescope``), and the board in Chromium."""

from __future__ import annotations

import hashlib
import html as htmllib
import json
import re
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from browser import Browser, find_chromium
from conftest import ASSIGNMENT, SUBMISSIONS
from grader import api, cli, gradebook, session
from grader.fingerprint import assignment_hash
from grader.gradebook import Gradebook
from grader.leaderboard import ADJECTIVES, ANIMALS, boards, metric_issues, pseudonym, pseudonyms
from grader.models import CheckResult, ProblemResult, Status, SubmissionResult, Visibility
from grader.output.gradescope import results_json, write_results_json
from grader.problem_hash import problem_fingerprint
from grader.release import release_assignment
from grader.report import write_reports
from grader.spec import SpecError, load_assignment
from grader.variants import Secret

PROBLEM = "regularized-ae"
CHECK = "training"
CASES = ("homework", "hidden-spectrum")
BOARD = """leaderboard:
  metric: time_to_target
  check: training
  order: asc
  label: "time to target (s)"
  aggregate: mean
"""
PSEUDONYM = re.compile(rf"^({'|'.join(ADJECTIVES)})-({'|'.join(ANIMALS)})$")
SALT = bytes(range(32))  #: an output folder's leaderboard salt, fixed for the tests


def public_rule(assignment: str, student: str) -> str:
    """The pseudonym by the rule anyone could compute before salts: SHA-256 of ids everyone knows."""
    digest = hashlib.sha256(f"grader leaderboard/{assignment}/{student}/0".encode("utf-8")).digest()
    n = int.from_bytes(digest[:8], "big") >> 1
    return f"{ADJECTIVES[n % len(ADJECTIVES)]}-{ANIMALS[(n // len(ADJECTIVES)) % len(ANIMALS)]}"


@pytest.fixture(scope="module")
def assignment():
    return load_assignment(ASSIGNMENT)


def run(student: str, seconds: tuple[float, ...], statuses: tuple[Status, ...] = (Status.PASSED,) * 2,
        data: bool = True) -> SubmissionResult:
    """A stored result: the timed-training check's cases with their time-to-target (no training needed)."""
    problem = ProblemResult(PROBLEM, "Timed training")
    for case, t, status in zip(CASES, seconds, statuses):
        passed = status is Status.PASSED
        visibility = Visibility.HIDDEN if case.startswith("hidden") else Visibility.PUBLIC
        problem.checks.append(CheckResult(PROBLEM, CHECK, case, visibility, status, 1.5 if passed else 0.0,
                                          1.5, "reached" if passed else "over budget",
                                          None if passed else "over_budget",
                                          data={"time_to_target": t, "steps_to_target": 200} if data else {"x": 1}))
        problem.checks.append(CheckResult(PROBLEM, "structure", case, visibility, Status.PASSED, 1.5, 1.5))
    return SubmissionResult(student, [problem])


# student ids that appear nowhere else on a page
CLASS = [run("id-ann-4711", (0.5, 0.7)), run("id-bob-0815", (0.2, 0.4)), run("id-cy-2323", (0.6, 0.6)),
         run("id-dee-9001", (0.3, 5.0), (Status.PASSED, Status.FAILED)), run("id-eve-1337", (0.1, 0.3))]


# --------------------------------------------------------------------------- the spec


def _only_the_problem(tmp_path: Path) -> Path:
    target = tmp_path / "autoencoders"
    shutil.copytree(ASSIGNMENT, target, ignore=shutil.ignore_patterns("samples"))
    path = target / "assignment.yaml"
    text, count = re.subn(r"(?m)^problems:\n(?:[ \t]*(?:- .*|#.*)?\n)+?(?=\S)", f"problems:\n  - {PROBLEM}\n",
                          path.read_text(encoding="utf-8"))
    assert count == 1
    path.write_text(text, encoding="utf-8")
    return target


def _issues(folder: Path, old: str, new: str) -> tuple[list[str], int]:
    """The issues after replacing ``old`` (in the shipped board) with ``new``, and the line ``new`` starts on."""
    spec = folder / f"{PROBLEM}.yaml"
    text = spec.read_text(encoding="utf-8")
    assert text.count(old) == 1
    spec.write_text(text.replace(old, new), encoding="utf-8")
    with pytest.raises(SpecError) as info:
        load_assignment(folder)
    return [str(i) for i in info.value.issues], text.count("\n", 0, text.index(old)) + 1


def test_the_shipped_board(assignment):
    board = assignment.problem(PROBLEM).leaderboard
    assert (board.metric, board.check, board.order, board.label, board.aggregate) == \
        ("time_to_target", "training", "asc", "time to target (s)", "mean")
    assert BOARD in (ASSIGNMENT / f"{PROBLEM}.yaml").read_text(encoding="utf-8")


@pytest.mark.parametrize("old, new, field, message", [
    ("  check: training\n", "  check: trainig\n", "leaderboard.check",
     "no check named 'trainig' in this problem (it has: structure, objective, training)"),
    ("  order: asc\n", "  order: up\n", "leaderboard.order", "Input should be 'asc' or 'desc' (got 'up')"),
    ("  order: asc\n", "", "leaderboard.order", "required field is missing"),
    ("  aggregate: mean\n", "  aggregate: average\n", "leaderboard.aggregate", "Input should be 'mean', 'median'"),
    ("  metric: time_to_target\n", "  metrc: time_to_target\n", "leaderboard.metrc", "unknown field (a typo?)"),
])
def test_spec_errors_name_file_line_and_key(tmp_path, old, new, field, message):
    folder = _only_the_problem(tmp_path)
    issues, line = _issues(folder, old, new)
    found = [i for i in issues if f": {field}: " in i]  # (a misspelt key also leaves the right one missing)
    assert len(found) == 1 and f"{PROBLEM}.yaml:" in found[0], issues
    where, _, rest = found[0].partition(": ")
    assert rest.startswith(f"{field}: {message}"), issues
    # the key's own line (a missing key: the leaderboard block's line)
    found = int(where.rsplit(":", 1)[1])
    assert found == (line if new else line - 3), issues


def test_the_board_decides_no_grade(tmp_path, assignment):
    """Leaving the key out, or changing it, changes no fingerprint (nobody is regraded); a release drops it."""
    folder = _only_the_problem(tmp_path)
    before = load_assignment(folder)
    spec = folder / f"{PROBLEM}.yaml"
    spec.write_text(spec.read_text(encoding="utf-8").replace(BOARD, BOARD.replace("asc", "desc")), encoding="utf-8")
    changed = load_assignment(folder)
    spec.write_text(spec.read_text(encoding="utf-8").replace(BOARD.replace("asc", "desc"), ""), encoding="utf-8")
    without = load_assignment(folder)
    assert changed.problem(PROBLEM).leaderboard.order == "desc" and without.problem(PROBLEM).leaderboard is None
    prints = [problem_fingerprint(a, a.problem(PROBLEM)).parts for a in (before, changed, without)]
    assert prints[0] == prints[1] == prints[2]
    assert assignment_hash(before) == assignment_hash(changed) == assignment_hash(without)
    release_assignment(folder, tmp_path / "handout")
    assert "leaderboard" not in (tmp_path / "handout" / f"{PROBLEM}.yaml").read_text(encoding="utf-8")
    assert load_assignment(tmp_path / "handout").problem(PROBLEM).leaderboard is None


# --------------------------------------------------------------------------- ranking and pseudonyms


def test_ranking_from_stored_results(assignment):
    (board,) = boards(assignment, CLASS, salt=SALT)
    assert board.problem == PROBLEM and board.label == "time to target (s)"
    assert {s.student: (s.rank, s.value) for s in board.ranked} == {
        "id-eve-1337": (1, pytest.approx(0.2)), "id-bob-0815": (2, pytest.approx(0.3)),
        "id-ann-4711": (3, pytest.approx(0.6)), "id-cy-2323": (3, pytest.approx(0.6))}  # a tie shares its rank
    assert [s.student for s in board.ranked][:2] == ["id-eve-1337", "id-bob-0815"]  # best first
    tied = [s for s in board.ranked if s.rank == 3]
    assert [s.pseudonym for s in tied] == sorted(s.pseudonym for s in tied)  # ties listed by pseudonym
    (dee,) = board.off  # only runs that passed count
    assert dee.student == "id-dee-9001" and dee.rank is None and dee.value is None
    assert "passed on 1 of its 2 cases" in dee.reason and dee.why == "did not pass the training check on every case"
    names = pseudonyms(assignment.id, (r.student for r in CLASS), SALT)
    assert all(s.pseudonym == names[s.student] for s in board.standings)


def test_order_aggregate_and_missing_data(assignment):
    spec = assignment.problem(PROBLEM).leaderboard
    problem = replace(assignment.problem(PROBLEM), leaderboard=spec.model_copy(update={"order": "desc",
                                                                                        "aggregate": "max"}))
    flipped = replace(assignment, problems=(problem,))
    (board,) = boards(flipped, CLASS + [run("id-fay-7777", (0.1, 0.1), data=False)])
    assert [(s.student, s.rank) for s in board.ranked] == [
        ("id-ann-4711", 1), ("id-cy-2323", 2), ("id-bob-0815", 3), ("id-eve-1337", 4)]
    fay = board.of("id-fay-7777")
    assert fay.rank is None and "holds no number 'time_to_target' for case homework" in fay.reason
    assert board.notes and "is leaderboard.metric in regularized-ae.yaml:" in board.notes[0]
    assert board.notes[0].endswith(" right? (grader validate checks it)")
    assert boards(flipped, [SubmissionResult("id-gus-1", [])]) == []  # nobody graded on it: no board


def test_pseudonyms_are_stable_distinct_and_not_the_id():
    students = [f"student{i:03d}" for i in range(600)]  # enough to draw some pair twice
    names = pseudonyms("hw", students, SALT)
    assert len(set(names.values())) == len(students)
    assert all(PSEUDONYM.match(n) and s not in n for s, n in names.items())
    assert pseudonyms("hw", list(reversed(students)), SALT) == names  # the order of the class does not matter
    firsts = {s: pseudonym("hw", s, SALT) for s in students}
    moved = [s for s in students if names[s] != firsts[s]]
    assert 0 < len(moved) <= 40  # a pair drawn twice: one of the two draws again, everyone else keeps theirs
    small = pseudonyms("hw", students[:50], SALT)  # a smaller class: the same pseudonyms, but for those draws
    assert all(small[s] == names[s] for s in students[:50] if s not in moved)
    other = pseudonyms("hw2", students, SALT)  # per assignment
    assert sum(other[s] == names[s] for s in students) < 10
    salted = pseudonyms("hw", students, bytes(reversed(SALT)))  # per salt (per output folder)
    assert sum(salted[s] == names[s] for s in students) < 10
    secret = Secret(b"a course secret of enough bytes", Path("secret"))
    another = Secret(b"another course secret, as long", Path("secret"))
    keyed = pseudonyms("hw", students[:20], secret)
    assert keyed == pseudonyms("hw", students[:20], secret) and all(PSEUDONYM.match(n) for n in keyed.values())
    assert sum(keyed[s] == firsts[s] for s in keyed) < 3  # the secret keys them
    assert sum(keyed[s] == n for s, n in pseudonyms("hw", students[:20], another).items()) < 3
    # with the secret: HMAC-SHA256 under it, as before (the same in every output folder of the course)
    n = secret.derive("leaderboard", "hw", students[0], "0")
    assert pseudonym("hw", students[0], secret) == \
        f"{ADJECTIVES[n % len(ADJECTIVES)]}-{ANIMALS[(n // len(ADJECTIVES)) % len(ANIMALS)]}"
    with pytest.raises(TypeError):  # never unkeyed
        pseudonym("hw", students[0], None)


def test_without_a_secret_nobody_computes_a_pseudonym_from_an_id(assignment):
    """Without a course secret, the pseudonyms are keyed by a random salt, not by ids anyone knows: the documented
    SHA-256 rule (or any rule on the ids alone) no longer tells whose a pseudonym is, i.e. who passed the hidden
    case."""
    students = [f"student{i:03d}" for i in range(40)]
    results = [run(s, (0.5, 0.5)) for s in students]
    public = {s: public_rule(assignment.id, s) for s in students}
    (board,) = boards(assignment, results)  # no key given: a salt drawn for this call
    assert sum(s.pseudonym == public[s.student] for s in board.standings) < 3
    (board,) = boards(assignment, results, salt=SALT)  # the output folder's
    assert sum(s.pseudonym == public[s.student] for s in board.standings) < 3
    (again,) = boards(assignment, results, salt=SALT)
    assert {s.student: s.pseudonym for s in again.standings} == pseudonyms(assignment.id, students, SALT)


def test_the_gradebook_keeps_a_random_salt(tmp_path):
    """Each output folder's gradebook draws its leaderboard salt once and keeps it: stable from run to run of the
    folder, different in another folder."""
    with Gradebook.open(tmp_path / "a.sqlite") as book:
        salt = book.leaderboard_salt()
        assert len(salt) == 32 and book.leaderboard_salt() == salt
    with Gradebook.open(tmp_path / "a.sqlite") as book:
        assert book.leaderboard_salt() == salt
    with Gradebook.open(tmp_path / "b.sqlite") as book:
        assert book.leaderboard_salt() != salt


@pytest.fixture
def fake_training(monkeypatch):
    """Grading regularized-ae without training: its checks' results made up from the submission's code. Returns the
    sample submissions to grade."""

    def grade(problem, source, book, options):
        t = 0.1 + len(source.text) % 7 / 10
        mine = run("x", (t, 2 * t))
        return ProblemResult(problem.id, problem.title, list(mine.problems[0].checks))

    monkeypatch.setattr(session, "grade_problem", grade)
    monkeypatch.setattr(session.GradingSession, "prepare", lambda self: None)
    return ("correct-numpy", "regularized-sum-sgd")


def _batch(subs: Path, assignment: Path, out: Path, notices: list[str] | None = None):
    return api.grade_batch(subs, assignment, out, problems=[PROBLEM], warm=False,
                           on_notice=(notices.append if notices is not None else None))


def _pseudonyms_in_reports(out: Path, students) -> dict[str, str]:
    found = {}
    for student in students:
        text = _text((out / "students" / student / "report.html").read_text(encoding="utf-8"))
        found[student] = re.search(r"(?:You are|Your pseudonym is) (\S+) ", text).group(1)
    return found


def test_grade_keys_pseudonyms_by_the_output_folders_salt(tmp_path, fake_training):
    """`grade` without a secret: pseudonyms from the salt kept in OUT/gradebook.sqlite, the same on the next run of
    the folder, others in another folder, and none computable from the ids."""
    subs = tmp_path / "subs"
    for name in fake_training:
        shutil.copytree(SUBMISSIONS / name, subs / name)
    _batch(subs, ASSIGNMENT, tmp_path / "out")
    first = _pseudonyms_in_reports(tmp_path / "out", fake_training)
    assert all(PSEUDONYM.match(n) for n in first.values())
    assert all(first[s] != public_rule(load_assignment(ASSIGNMENT).id, s) for s in first)
    with Gradebook.open(tmp_path / "out" / gradebook.FILENAME) as book:
        salt = book.leaderboard_salt()
    assert first == pseudonyms(load_assignment(ASSIGNMENT).id, fake_training, salt)
    _batch(subs, ASSIGNMENT, tmp_path / "out")  # resumes: the same folder, the same pseudonyms
    assert _pseudonyms_in_reports(tmp_path / "out", fake_training) == first
    _batch(subs, ASSIGNMENT, tmp_path / "elsewhere")
    assert _pseudonyms_in_reports(tmp_path / "elsewhere", fake_training) != first


def test_grade_warns_when_passing_runs_lack_the_metric(tmp_path, fake_training):
    folder = _only_the_problem(tmp_path)
    spec = folder / f"{PROBLEM}.yaml"
    text = spec.read_text(encoding="utf-8")
    spec.write_text(text.replace("  metric: time_to_target\n", "  metric: time_to_targt\n"), encoding="utf-8")
    line = text.count("\n", 0, text.index("  metric: time_to_target")) + 1
    subs = tmp_path / "subs"
    for name in fake_training:
        shutil.copytree(SUBMISSIONS / name, subs / name)
    notices: list[str] = []
    _batch(subs, folder, tmp_path / "out", notices)
    (warning,) = [n for n in notices if "leaderboard" in n]
    assert warning.startswith(f"warning: {PROBLEM}: leaderboard: 2 run(s) passed the training check but its data "
                              "holds no number 'time_to_targt'")
    assert "time_to_target" in warning and f"is leaderboard.metric in {PROBLEM}.yaml:{line} right?" in warning
    notices.clear()
    spec.write_text(text, encoding="utf-8")  # fixed: no warning
    _batch(subs, folder, tmp_path / "out", notices)
    assert not [n for n in notices if "leaderboard" in n]


def test_metric_issues_of_a_reference():
    assignment = load_assignment(ASSIGNMENT)
    problem = assignment.problem(PROBLEM)
    assert metric_issues(problem, run("ref", (0.2, 0.3)).problems[0]) == []
    lacking = run("ref", (0.2, 0.3)).problems[0]
    lacking.checks[2].data = {"steps_to_target": 3}  # the hidden case's training result
    assert metric_issues(problem, lacking) == [
        "the reference's training check holds no number 'time_to_target' in its result data for case "
        "hidden-spectrum (its data has: steps_to_target)"]
    failed = run("ref", (0.2, 0.3), (Status.PASSED, Status.FAILED), data=False).problems[0]
    assert metric_issues(problem, failed) == []  # a failing reference is reported as such


def test_validate_names_the_file_line_and_key_of_a_metric_typo(tmp_path, capsys):
    """`grader validate` grades the reference: its training data must hold the metric on every case."""
    folder = _only_the_problem(tmp_path)
    spec = folder / f"{PROBLEM}.yaml"
    text = spec.read_text(encoding="utf-8")
    spec.write_text(text.replace("  metric: time_to_target\n", "  metric: time_to_targt\n"), encoding="utf-8")
    line = text.count("\n", 0, text.index("  metric: time_to_target")) + 1
    code = cli.main(["validate", str(folder), "--no-samples"])
    err = capsys.readouterr().err
    assert code == 2, err
    (issue,) = [i.strip() for i in err.splitlines() if "leaderboard.metric" in i]
    assert issue.startswith(f"{spec}:{line}: leaderboard.metric: the reference's training check holds no number "
                            "'time_to_targt' in its result data for cases homework"), err
    assert "hidden-spectrum" in issue and "time_to_target" in issue.rsplit("(its data has: ", 1)[1]


# --------------------------------------------------------------------------- the pages


def _text(page: str) -> str:
    page = re.sub(r"<style>.*?</style>", " ", page, flags=re.S)
    return re.sub(r"\s+", " ", htmllib.unescape(re.sub(r"<[^>]+>", " ", page)))


@pytest.fixture(scope="module")
def pages(tmp_path_factory, assignment):
    out = tmp_path_factory.mktemp("board")
    write_reports(CLASS, out, assignment, salt=SALT)
    return out, {s.student: s for s in boards(assignment, CLASS, salt=SALT)[0].standings}


def test_the_student_sees_their_pseudonym_and_rank_and_no_other_id(pages):
    out, standings = pages
    for student, me in standings.items():
        text = _text((out / "students" / student / "report.html").read_text(encoding="utf-8"))
        others = [s for s in standings if s != student and s in text]
        assert not others, f"{student}'s report names {others}"
        if me.rank is not None:
            assert f"You are {me.pseudonym} : rank {me.rank} of 4, with time to target (s)" in text
            assert f"{me.rank} {me.pseudonym} (you)" in text
        else:
            assert f"Your pseudonym is {me.pseudonym} ; you are not on the board: only runs that passed count" in text
        assert all(s.pseudonym in text for s in standings.values() if s.rank is not None)  # the top, pseudonyms only


def test_the_class_summary_shows_the_board(pages):
    out, standings = pages
    text = _text((out / "index.html").read_text(encoding="utf-8"))
    board = text.split("Leaderboard Students see", 1)[1].split("Pass rate per check")[0]
    for s in sorted((s for s in standings.values() if s.rank is not None), key=lambda s: (s.rank, s.pseudonym)):
        assert f"{s.rank} {s.pseudonym} " in board and s.student in board
    assert "On the board: 4 of 5 students" in board
    assert "Not on the board: did not pass the training check on every case: 1" in board


# --------------------------------------------------------------------------- Gradescope


def test_results_json_carries_the_leaderboard(tmp_path, assignment):
    path = tmp_path / "results.json"
    write_results_json(CLASS[1], path, None, assignment)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["leaderboard"] == [{"name": "time to target (s)", "value": 0.3, "order": "asc"}]
    assert "Leaderboard, time to target (s): 0.3 (lower is better" in data["output"]
    assert not [t for t in data["tests"] if t["name"].startswith("Leaderboard")]
    failed = results_json(CLASS[3], None, assignment)  # did not pass: no entry, and the output says so
    assert failed["leaderboard"] == [] and "time to target (s): this run does not count on the board" in \
        failed["output"]
    assert "leaderboard" not in results_json(CLASS[1])  # without the assignment, as before
    assert "leaderboard" not in results_json(SubmissionResult("x", [ProblemResult("other", "Other")]), None,
                                             assignment)  # no problem with a board graded


def test_gradescope_output_tells_nothing_of_the_hidden_case(assignment):
    """Dee passed the public case and failed the hidden one: what Gradescope shows before the results are published
    (the output and the visible tests) must not tell; why she is off the board waits with the hidden cases."""
    data = results_json(CLASS[3], None, assignment)
    visible = "\n".join([data["output"]] + [f"{t['name']}\n{t['output']}" for t in data["tests"]
                                             if t["visibility"] == "visible"])
    assert "does not count on the board" in visible
    for leak in ("hidden-spectrum", "1 of its 2", "passed on", "did not pass", "every case", "over budget", "failed"):
        assert leak not in visible.lower(), leak
    (why,) = [t for t in data["tests"] if t["name"] == "Leaderboard: time to target (s)"]
    assert why["visibility"] == "after_published" and why["score"] == why["max_score"] == 0.0
    assert "only runs that passed count, and the training check passed on 1 of its 2 cases" in why["output"]
    assert data["score"] == sum(t["score"] for t in data["tests"])


def test_grader_gradescope_fills_it(tmp_path, capsys):
    """`grader gradescope` on a correct setup: the timed training's time-to-target is in results.json."""
    upload = tmp_path / "submission"
    shutil.copytree(SUBMISSIONS / "regularized-sum-sgd", upload)
    results = tmp_path / "results" / "results.json"
    code = cli.main(["gradescope", "--submission", str(upload), "--results", str(results), "--assignment",
                     str(ASSIGNMENT), "--problems", PROBLEM])
    assert code == 0, capsys.readouterr().err
    data = json.loads(results.read_text(encoding="utf-8"))
    training = [t for t in data["tests"] if t["name"].startswith(f"{PROBLEM} / {CHECK} /")]
    assert training and all(t["status"] == "passed" for t in training)
    (entry,) = data["leaderboard"]
    assert entry["name"] == "time to target (s)" and entry["order"] == "asc" and 0 < entry["value"] < 60


# --------------------------------------------------------------------------- Chromium

CHROMIUM = find_chromium()


@pytest.mark.skipif(CHROMIUM is None, reason="chromium not found (scripts/setup.sh installs Debian's chromium as "
                    "root; or set $CHROMIUM)")
def test_the_board_in_chromium(pages, tmp_path):
    out, standings = pages
    browser = Browser(CHROMIUM)
    try:
        page = browser.open((out / "index.html").as_uri())
        assert page.console_errors() == []
        rows = page.evaluate("Array.from(document.querySelectorAll('#leaderboard tbody tr'))"
                             ".map(r => Array.from(r.cells).map(c => c.innerText))")
        ranked = sorted((s for s in standings.values() if s.rank is not None), key=lambda s: (s.rank, s.pseudonym))
        assert rows == [[str(s.rank), s.pseudonym, f"{s.value:.4g}", s.student] for s in ranked]
        assert page.evaluate("Array.from(document.querySelectorAll('nav a')).filter(a => a.hash === '#leaderboard')"
                             ".length") == 1
        page.screenshot(tmp_path / "board.png")
        me = standings["id-cy-2323"]
        mine = browser.open((out / "students" / "id-cy-2323" / "report.html").as_uri(), width=390, height=844,
                            mobile=True)
        assert mine.console_errors() == []
        assert mine.evaluate("document.querySelector('#leaderboard tr.you').innerText").split("\t")[:2] == \
            [str(me.rank), f"{me.pseudonym} (you)"]
        assert mine.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        assert "id-ann-4711" not in mine.text
    finally:
        browser.close()
