"""HTML reports: escaping, grouping, the class summary at scale, and the wiring into check and grade."""

from __future__ import annotations

import html as htmllib
import re
import time
from pathlib import Path

import pytest

from conftest import ASSIGNMENT, SUBMISSIONS, kit_module
from grader import cli
from grader.api import grade_batch
from grader.kit import Kit
from grader.models import Assignment, CheckResult, ProblemResult, Status, SubmissionResult, Visibility
from grader.report import write_reports, write_student_report
from grader.report.charts import Curves, bin_count, histogram, line_chart
from grader.report.parts import NOT_DRAWN, Card, Cell, Column, Part, Row, Table, Tally, with_anchors
from grader.report.student import excerpt, group_checks, student_view
from grader.report.summary import class_view
from grader.spec import load_assignment

SCRIPT = "<script>window.__pwned = 1</script>"
PUBLIC, HIDDEN = Visibility.PUBLIC, Visibility.HIDDEN


def _text(html: str) -> str:
    """The page's text, roughly: no style sheet, no tags, entities decoded, whitespace collapsed."""
    html = re.sub(r"<style>.*?</style>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", htmllib.unescape(re.sub(r"<[^>]+>", " ", html)))


def _assignment(kit: Kit | None = None) -> Assignment:
    """An assignment titled HW whose kit is ``kit`` (the autoencoders kit by default)."""
    return Assignment("hw", "HW", Path("."), (), kit=load_assignment(ASSIGNMENT).kit if kit is None else kit)


def _kit_report():
    """The autoencoders kit's training/report.py, as the grader loaded it (its parts are registered on the kit)."""
    kit = load_assignment(ASSIGNMENT).kit
    module = kit_module("training.report")
    assert module.timed_training in kit.report_parts and module.time_to_target in kit.summary_parts
    return module


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


def _timed(case, status, seconds_to_target, *, diagnosis=None, budget=10.0, visibility=PUBLIC):
    """A timed training check's result, with the data the autoencoders kit's training check attaches."""
    reached = seconds_to_target is not None
    t = seconds_to_target if reached else 2.0
    data = {"device": "cpu", "reference": {"seconds": 0.25, "steps": 200, "device": "cpu"},
            "budget_seconds": budget, "step_budget": 800, "time_to_target": seconds_to_target,
            "steps_to_target": 200 if reached else None, "steps_per_second": 900.0,
            "stopped": "target" if reached else "stalled", "tol": 1e-3, "optimum_loss": 0.5,
            "curve": {"seconds": [0.0, t / 2, t], "step": [0, 100, 200], "distance": [1.0, 0.01, 1e-4 if reached else 0.2],
                      "loss": [2.0, 0.6, 0.5 + 1e-6 if reached else 0.7]}}
    return CheckResult("reg", "training", case, visibility, status, 1.5 if status is Status.PASSED else 0.0, 1.5,
                       "feedback", diagnosis, data=data)


def _cells(row: Row) -> list[tuple[str, str | None, str | None]]:
    return [(c.text, c.status, c.note) for c in row.cells]


def test_timed_training_shows_its_facts_and_curves(tmp_path):
    report = _kit_report()
    result = synthetic(1)
    result.problems.append(ProblemResult("reg", "Regularized", [
        _timed("homework", Status.PASSED, 0.3), _timed("hidden", Status.FAILED, None, diagnosis="wrong_minimiser",
                                                       visibility=HIDDEN)]))
    # the kit's part builder: one part per timed check, none for a problem without one
    assert report.timed_training(result.problems[0]) == []
    [part] = report.timed_training(result.problems[-1])
    assert (part.title, part.subtitle) == ("Timed training", "(check training; times by the grader's clock on the "
                                                              "machine that graded)")
    [table] = part.tables
    assert [(c.title, c.numeric) for c in table.columns] == [
        ("Case", False), ("Device", False), ("Time to target", True), ("Steps to target", True),
        ("Time budget", True), ("Step budget", True), ("Reference here", True)]
    assert [_cells(row) for row in table.rows] == [
        [("homework", "passed", None), ("cpu", None, None), ("0.3 s", None, None), ("200", None, None),
         ("10 s", None, None), ("800", None, None), ("0.25 s, 200 steps", None, None)],
        [("hidden", "failed", "hidden"), ("cpu", None, None), ("not reached", None, "(stalled)"), ("-", None, None),
         ("10 s", None, None), ("800", None, None), ("0.25 s, 200 steps", None, None)]]
    assert [c.title for c in part.charts] == ["Distance to the closed form", "Eq. 6's loss above its minimum"]
    # the excess loss is log10(loss - optimum): -6 at the end of the run that reached the target
    assert part.charts[1].y_ticks[0].label == "-6" and part.charts[0].y_ticks[0].label == "-4"
    assert [[line.name for line in c.lines] for c in part.charts] == [["homework", "hidden"]] * 2
    assert [g.name for g in part.charts[0].guides] == ["tolerance 0.001"] and not part.charts[1].guides
    [view] = report.timed_views(result.problems[-1].checks)
    assert view.cases[0].within_budget and not view.cases[1].within_budget
    # a run not timed here: no reference, no curve
    untimed = _timed("homework", Status.ERROR, None)
    untimed.data.update(reference=None, curve=None, time_to_target=None, stopped=None)
    [bare] = report.timed_training(ProblemResult("reg", "Regularized", [untimed]))
    assert _cells(bare.tables[0].rows[0])[2:] == [("not reached", None, None), ("-", None, None), ("10 s", None, None),
                                                  ("800", None, None), ("", None, "not timed here")]
    assert bare.charts == []
    # drawn by the engine's generic templates, in the problem's section
    html = write_student_report(result, tmp_path, _assignment()).read_text(encoding="utf-8")
    text = _text(html)
    assert "Timed training (check training; times by the grader's clock" in text
    assert "Case Device Time to target Steps to target Time budget Step budget Reference here" in text
    assert "homework cpu 0.3 s 200 10 s 800 0.25 s, 200 steps" in text
    assert "hidden hidden cpu not reached (stalled) - 10 s 800" in text
    assert html.count('<figure class="line-chart">') == 2 and html.count("<polyline") == 4  # two charts, two cases
    assert html.count('class="guide"') == 1 and "tolerance 0.001" in html
    section = html.split('id="p-reg"')[1]
    drawn = section.split('<section class="part">')[1].split("</section>")[0]
    assert drawn.count('<td class="num">') == 2 * 5 and '<th class="num">Reference here</th>' in drawn
    assert section.index("Timed training") < section.index('<article class="check')  # above the checks
    assert "Timed training" not in html.split('id="p-reg"')[0]
    # a bare title has no kit, hence no part
    plain = write_student_report(result, tmp_path / "plain", "HW").read_text(encoding="utf-8")
    assert "Timed training" not in plain and "<polyline" not in plain


def test_line_chart_geometry():
    curve = Curves({"yours": [(0, 0.1), (1, 0.5), (2, 0.9)], "target": [(0, 0.94), (2, 0.94)]},
                   x_label="epoch", y_label="accuracy", guides={"chance": 0.0})
    chart = line_chart(curve)
    yours, target = (line.points.split() for line in chart.lines)
    assert len(yours) == 3 and yours[0] == "40.0,136.0" and target[-1] == "470.0,18.0"  # 0.1 of [0, 0.94]: the guide is lowest
    assert [(g.name, g.y) for g in chart.guides] == [("chance", 150.0)]
    assert line_chart(Curves({"nan": [(0, float("nan"))]})) is None


def _timed_class() -> list[SubmissionResult]:
    results = []
    for i, (status, t, diagnosis) in enumerate([(Status.PASSED, 0.2, None), (Status.PASSED, 0.4, None),
                                                (Status.FAILED, 12.0, "over_budget"), (Status.FAILED, None, "diverged"),
                                                (Status.FAILED, None, "diverged"), (Status.TIMEOUT, None, None)]):
        r = synthetic(i + 1)
        checks = [_timed("homework", status, t, diagnosis=diagnosis)]
        if status is Status.TIMEOUT:  # a call that never returned has no data
            checks = [CheckResult("reg", "training", "homework", PUBLIC, Status.TIMEOUT, 0.0, 1.5, "took too long")]
        r.problems.append(ProblemResult("reg", "Regularized", checks))
        results.append(r)
    return results


def test_class_summary_shows_time_to_target(tmp_path):
    report = _kit_report()
    results = _timed_class()
    [t] = report.timed_summaries(results)
    assert (t.problem, t.check, t.case, t.runs, t.within_budget, t.reached) == ("reg", "training", "homework", 5, 2, 3)
    assert t.median_seconds == 0.4 and t.budget_seconds == 10.0 and t.reference_seconds == 0.25
    assert t.missed == [("diverged", 2), ("over_budget", 1)] and t.devices == ["cpu"]
    assert t.chart.total == 3 and t.chart.x_ticks[-1].label == "20"  # 0..20 s in 10 bins of 2 s
    # the kit's summary part: one per problem with timed checks, a card per (check, case)
    assert report.time_to_target("grads", results) == []
    [part] = report.time_to_target("reg", results)
    assert (part.title, part.short_title, part.anchor) == ("Timed training: time to target", "Timed training", "timed")
    assert part.text.startswith("Seconds from the start of training until the weights were within tolerance")
    [card] = part.cards
    assert (card.title, card.subtitle) == ("reg / training", "homework")
    assert card.lines == ["within budget: 2 of 5; reached the target: 3, median 0.4 s",
                          "reference 0.25 s, budget 10 s \u00b7 cpu"]
    assert card.histograms == [t.chart] and t.chart.title == "Histogram of the time to target on homework (seconds)"
    assert card.tallies == [Tally("Missed", [("diverged", 2), ("over_budget", 1)])]
    # drawn by the engine's generic templates, with a link in the navigation
    html = write_reports(results, tmp_path, _assignment()).read_text(encoding="utf-8")
    text = _text(html)
    assert '<a href="#timed">Timed training</a>' in html and '<section class="part" id="timed">' in html
    assert "Timed training: time to target" in text and "within budget: 2 of 5" in text
    assert "reg / training homework" in text and "reference 0.25 s, budget 10 s \u00b7 cpu" in text
    assert "Missed: diverged 2, over_budget 1" in text
    assert 'aria-label="Histogram of the time to target on homework (seconds)"' in html
    section = html.split('id="timed"')[1].split("</section>")[0]
    assert section.count('class="bar"') == 10 and section.count('class="card"') == 1
    assert "<script" not in html
    assert "Timed training" not in write_reports(results, tmp_path / "plain", "HW").read_text(encoding="utf-8")


# --------------------------------------------------------------------------- generic parts, any kit


def _generic_kit(calls: list | None = None) -> Kit:
    """A kit with a report part and a summary part of every kind of piece, and a builder that fails."""
    kit = Kit()

    @kit.report_part
    def facts(problem: ProblemResult) -> list[Part]:
        if calls is not None:
            calls.append(problem.problem)
        if problem.problem != "grads":
            return []
        table = Table([Column("Case"), Column("Value", numeric=True)],
                      [Row([Cell("a", status="passed"), Cell("1.5")]),
                       Row([Cell(SCRIPT, status="failed", note="hidden"), Cell(note="not measured")])],
                      caption="Per case")
        curve = line_chart(Curves({"a": [(0, 1.0), (1, 2.0)]}, "step", "value", "Growth", {"limit": 1.5}))
        return [Part("Facts", subtitle="(from the check data)", text=f"about {SCRIPT}", tables=[table],
                     charts=[curve], histograms=[histogram([1, 2, 2], 4, title="Counts of values")],
                     notes=["a remark"], anchor="scores")]  # an id the page uses: renamed

    @kit.report_part
    def broken(problem: ProblemResult) -> list[Part]:
        raise ValueError("no such key")

    @kit.summary_part
    def per_problem(problem_id: str, results: list[SubmissionResult]) -> list[Part]:
        cards = [Card(r.student, subtitle=problem_id, lines=["one", "two"], histograms=[histogram([1], 2)],
                      tallies=[Tally("Seen", [("x", 2), ("y", 1)])]) for r in results[:2]]
        return [Part(f"About {problem_id}", cards=cards, anchor="about")]

    @kit.summary_part
    def wrong_type(problem_id: str, results: list[SubmissionResult]) -> list:
        return ["not a part"]

    return kit


def test_generic_parts_render_in_the_student_report(tmp_path, capsys):
    calls = []
    kit = _generic_kit(calls)
    result = synthetic(1)
    html = write_student_report(result, tmp_path, _assignment(kit)).read_text(encoding="utf-8")
    assert calls == ["grads", "blog"]  # each problem's result, in order
    warnings = capsys.readouterr().err
    assert warnings.count("warning: report part") == 2  # broken, once per problem
    assert "broken could not be drawn (s001 / grads): " in warnings  # then where the author's code raised
    assert f"{Path(__file__).resolve()}:" in warnings and "ValueError: no such key" in warnings
    text = _text(html)
    assert "Facts (from the check data)" in text and f"about {SCRIPT}" in text and "a remark" in text
    assert "Per case Case Value passed a 1.5 failed" in text and "hidden not measured" in text
    assert '<th class="num">Value</th>' in html and '<td class="num">1.5</td>' in html
    assert "<script" not in html and "&lt;script&gt;" in html  # a part's text is escaped like the student's
    assert html.count('<figure class="line-chart">') == 1 and html.count('class="guide"') == 1
    assert 'aria-label="Counts of values"' in html and html.count('class="bar"') == 8  # bins of 0.5 up to 4
    assert '<section class="part" id="scores-2">' in html and html.count('id="scores"') == 1
    grads = html.split('id="p-grads"')[1].split('id="p-blog"')[0]
    assert grads.index("Facts") < grads.index("Not drawn") < grads.index('<article class="check')
    blog = html.split('id="p-blog"')[1]
    assert "Facts" not in blog and blog.count(NOT_DRAWN.split(":")[0]) == 1  # the failing builder, in each problem
    view = student_view(result, "HW", kit=kit)
    assert [[p.title for p in pv.parts] for pv in view.problems] == [["Facts", "Not drawn: broken"],
                                                                     ["Not drawn: broken"]]
    assert view.problems[1].parts[0].notes == [NOT_DRAWN]


def test_generic_parts_render_in_the_class_summary(tmp_path, capsys):
    kit = _generic_kit()
    results = [synthetic(i) for i in (1, 2, 3)]
    html = write_reports(results, tmp_path, _assignment(kit)).read_text(encoding="utf-8")
    err = capsys.readouterr().err
    assert "wrong_type could not be drawn (class summary / grads): TypeError: expected a Part, got str" in err
    view = class_view(results, "HW", kit)
    assert [(p.title, p.anchor) for p in view.parts] == [
        ("About grads", "about"), ("Not drawn: wrong_type", "part-2"),
        ("About blog", "about-2"), ("Not drawn: wrong_type", "part-4")]
    nav = html.split("<nav>")[1].split("</nav>")[0]
    assert [a for a in re.findall(r'href="#([^"]+)"', nav)] == [
        "distribution", "about", "part-2", "about-2", "part-4", "checks", "mistakes", "trouble", "students"]
    text = _text(html)
    assert "About grads s001 grads one two" in text and "Seen: x 2, y 1" in text
    assert html.count('<div class="card">') == 4 + 1 + len(view.problems)  # 2 per part, the total's, per problem
    assert html.index('id="about"') < html.index('id="checks"')
    # builders see every student's results, sorted by student, and the problem's id
    seen = []
    spy = Kit()
    spy.summary_part(lambda pid, rs: seen.append((pid, [r.student for r in rs])) or [])
    class_view(list(reversed(results)), "HW", spy)
    assert seen == [("grads", ["s001", "s002", "s003"]), ("blog", ["s001", "s002", "s003"])]


def test_part_anchors_are_unique_ids():
    parts = [Part("a", anchor="x y"), Part("b", anchor="x-y"), Part("c"), Part("d", anchor="checks")]
    assert [p.anchor for p in with_anchors(parts, {"checks"})] == ["x-y", "x-y-2", None, "checks-2"]
    assert [p.anchor for p in with_anchors(parts, {"checks"}, every=True)] == ["x-y", "x-y-2", "part-3", "checks-2"]


@pytest.mark.parametrize("bad", [
    Part("t", tables=[Table([Column("a")], [Row([Cell("1"), Cell("2")])])]),  # a row longer than the columns
    Part("t", notes="not a list"), Part("t", cards=[Card("c", lines=[3])]), Part(None),
    Part("t", tables=[Table([Column("a")], [Row([Cell(1.5)])])]),
])
def test_a_malformed_part_is_not_drawn(bad, capsys):
    kit = Kit()
    kit.report_part(lambda problem: [bad])
    view = student_view(synthetic(1), "HW", kit=kit)
    assert [p.notes for p in view.problems[0].parts] == [[NOT_DRAWN]]
    assert "TypeError" in capsys.readouterr().err


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
