"""HTML reports: escaping, grouping, the class summary at scale, and the wiring into check and grade."""

from __future__ import annotations

import re
import time

from conftest import ASSIGNMENT, SUBMISSIONS
from grader import cli
from grader.api import grade_batch
from grader.models import CheckResult, ProblemResult, Status, SubmissionResult, Visibility
from grader.report import write_reports, write_student_report
from grader.report.charts import TrainingCurve, bin_count, histogram, line_chart
from grader.report.student import excerpt, group_checks
from grader.report.summary import class_view

SCRIPT = "<script>window.__pwned = 1</script>"
PUBLIC, HIDDEN = Visibility.PUBLIC, Visibility.HIDDEN


def _text(html: str) -> str:
    """The page's text, roughly: no style sheet, no tags, whitespace collapsed."""
    html = re.sub(r"<style>.*?</style>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _check(problem, check, case, status, score, max_score=1.0, feedback="", diagnosis=None, kind="check",
           visibility=PUBLIC):
    return CheckResult(problem, check, case, visibility, status, score, max_score, feedback, diagnosis, kind)


def synthetic(i: int) -> SubmissionResult:
    """Student ``i`` of a synthetic class: every fifth slips on a sign, every seventh times out."""
    grads = ProblemResult("grads", "Gradients")
    for case in ("a", "b", "c"):
        if i % 5 == 0:
            grads.checks.append(_check("grads", "matches", case, Status.FAILED, 0.0, feedback="wrong sign",
                                       diagnosis="sign"))
        elif i % 7 == 0 and case == "c":
            grads.checks.append(_check("grads", "matches", case, Status.TIMEOUT, 0.0, feedback="took longer than 5 s",
                                       visibility=HIDDEN))
        else:
            grads.checks.append(_check("grads", "matches", case, Status.PASSED, 1.0, feedback="matches"))
    grads.stdout = f"epoch {i}\n{SCRIPT}\n"
    blog = ProblemResult("blog", "Blog questions")
    blog.checks.append(_check("blog", "seconds", None, Status.PASSED if i % 2 else Status.FAILED, float(i % 2), 1.0,
                              "correct: 26 s" if i % 2 else "297 s is not right", None if i % 2 else "wrong_value",
                              kind="question", visibility=HIDDEN))
    blog.checks.append(_check("blog", "learned", None, Status.PENDING, 0.0, 2.0,
                              f"awaiting manual grading. Your answer: {SCRIPT}", "manual", kind="question",
                              visibility=HIDDEN))
    return SubmissionResult(f"s{i:03d}", [grads, blog])


def test_student_output_and_answers_are_escaped(tmp_path):
    path = write_student_report(synthetic(5), tmp_path, "Homework <1>")
    html = path.read_text(encoding="utf-8")
    assert path == tmp_path / "students" / "s005" / "report.html"
    assert "<script" not in html  # neither the templates nor the student's text add a script element
    assert "&lt;script&gt;window.__pwned = 1&lt;/script&gt;" in html
    assert "Homework &lt;1&gt;" in html
    assert "default-src 'none'" in html  # and the CSP would block one anyway


def test_student_report_groups_cases_and_lists_pending_answers(tmp_path):
    html = write_student_report(synthetic(7), tmp_path, "HW").read_text(encoding="utf-8")
    text = _text(html)
    assert "2 cases: a, b" in text and "1 case: c (1 hidden)" in text
    assert "2 of 3 cases passed" in text
    assert "Written answers awaiting manual grading" in text and "learned" in text
    assert "Total: 3 / 6" in text


def test_grouping_by_check_then_outcome():
    checks = synthetic(7).problems[0].checks
    [group] = group_checks(checks)
    assert (group.name, group.status, group.passed, group.total) == ("matches", "timeout", 2, 3)
    assert [(o.status, o.cases, o.hidden) for o in group.outcomes] == [("passed", ["a", "b"], 0),
                                                                     ("timeout", ["c"], 1)]
    assert group_checks(synthetic(1).problems[1].checks)[0].name == "seconds"  # pending left out
    assert len(group_checks(synthetic(1).problems[1].checks)) == 1


def test_excerpt_keeps_the_end():
    assert excerpt("   \n") is None
    long = "\n".join(f"line {i}" for i in range(100))
    cut = excerpt(long)
    assert cut.text.endswith("line 99") and cut.text.count("\n") == 39 and cut.omitted > 0


def test_histogram_bins():
    assert bin_count(18, 10) == 9 and bin_count(8, 10) == 8 and bin_count(100, 10) == 10 and bin_count(7.3, 10) == 10
    h = histogram([0, 0.5, 10, 10, 9.99, 5], 10)
    assert [b.count for b in h.bars] == [2, 0, 0, 0, 0, 1, 0, 0, 0, 3]  # the maximum falls in the last bin
    assert h.total == 6 and h.x_ticks[0].label == "0" and h.x_ticks[-1].label == "10"
    assert sum(b.count for b in histogram([], 0).bars) == 0


def test_timing_hook_draws_a_line_chart(tmp_path):
    result = synthetic(1)
    curve = TrainingCurve({"yours": [(0, 0.1), (1, 0.5), (2, 0.9)], "target": [(0, 0.94), (2, 0.94)]},
                          x_label="epoch", y_label="accuracy")
    result.problems[0].timing = curve  # what a timed training problem will attach
    html = write_student_report(result, tmp_path, "HW").read_text(encoding="utf-8")
    assert html.count("<polyline") == 2 and "accuracy" in html
    chart = line_chart(curve)
    yours, target = (line.points.split() for line in chart.lines)
    assert len(yours) == 3 and yours[0] == "40.0,150.0" and target[-1] == "470.0,18.0"  # corners of the plot
    assert line_chart(TrainingCurve({"nan": [(0, float("nan"))]})) is None


def test_class_summary_of_500_students_is_fast(tmp_path):
    results = [synthetic(i) for i in range(500)]
    started = time.perf_counter()
    index = write_reports(results, tmp_path, "Homework")
    elapsed = time.perf_counter() - started
    assert elapsed < 20, f"writing 501 pages took {elapsed:.1f} s"
    html = index.read_text(encoding="utf-8")
    assert len(list((tmp_path / "students").glob("*/report.html"))) == 500
    assert all(f'href="students/s{i:03d}/report.html"' in html for i in range(500))
    assert "<script" not in html
    view = class_view(results, "Homework")
    [sign] = [m for m in view.mistakes if m.diagnosis == "sign"]
    assert (sign.students, sign.cases) == (100, 300)  # every fifth student, on all three cases
    assert not [m for m in view.mistakes if m.diagnosis == "manual"]  # awaiting a grade is no mistake
    timeouts = {t.student for t in view.trouble}
    assert timeouts == {f"s{i:03d}" for i in range(500) if i % 7 == 0 and i % 5}
    [matches] = [c for c in view.checks if c.check == "matches"]
    assert matches.students == 500 and matches.students_passed == 500 - 100 - len(timeouts)
    assert view.pending == 500
    assert view.total.count == 500 and view.total.max_score == 6


def test_class_summary_statistics():
    view = class_view([synthetic(i) for i in (1, 2, 5)], "HW")  # totals 4, 3, 1 out of 6
    assert (round(view.total.mean, 9), view.total.median, view.total.full_marks) == (round(8 / 3, 9), 3, 0)
    assert [d.id for d in view.problems] == ["grads", "blog"]
    assert [s.problems for s in view.students] == [[3.0, 1.0], [3.0, 0.0], [0.0, 1.0]]


def test_check_writes_a_public_report(capsys, tmp_path):
    code = cli.main(["check", str(SUBMISSIONS / "slip-sign"), "--assignment", str(ASSIGNMENT),
                     "--problems", "linear-ae-gradients", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    report = tmp_path / "students" / "slip-sign" / "report.html"
    assert code == 1 and f"Report: {report}" in out
    html = report.read_text(encoding="utf-8")
    assert "self-check on the public cases" in html and "wrong sign" in html
    assert "hidden" not in _text(html).replace("hidden cases are graded after submission", "")


def test_grade_writes_the_reports(tmp_path):
    subs = tmp_path / "subs"
    for name in ("correct-numpy", "slip-sign"):
        (subs / name).mkdir(parents=True)
        (subs / name / "solution.py").write_bytes((SUBMISSIONS / name / "solution.py").read_bytes())
    batch = grade_batch(subs, ASSIGNMENT, tmp_path / "out", problems=["linear-ae-gradients"])
    index = (tmp_path / "out" / "index.html").read_text(encoding="utf-8")
    assert 'href="students/slip-sign/report.html"' in index and "sign" in index
    for result in batch.results:
        assert (tmp_path / "out" / "students" / result.student / "report.html").is_file()
