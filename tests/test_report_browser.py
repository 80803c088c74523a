"""The HTML reports in a real browser: headless Chromium over the DevTools protocol (see browser.py).

Grades a few sample submissions (two problems, for speed) plus one that prints a ``<script>`` and answers
with one, opens the pages, fails on console errors, and checks what a person would see. Screenshots are
saved in the test's tmp folder. Skipped when Chromium is not installed (scripts/setup.sh installs it).
"""

from __future__ import annotations

import json
import re
import shutil

import pytest

from browser import Browser, find_chromium
from conftest import ASSIGNMENT, SUBMISSIONS
from grader.api import grade_batch
from grader.report.student import points

CHROMIUM = find_chromium()
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium not found (scripts/setup.sh installs Debian's "
                                "chromium as root; or set $CHROMIUM)")

SAMPLES = ("correct-numpy", "answers-slips", "slip-sign", "raises-exception")
SCRIPT = "<script>window.__pwned = 1; document.title = 'PWNED'</script>"
ANSWER_SCRIPT = "<script>window.__answer = 1</script><b>bold?</b>"
HOSTILE = "prints-script"


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("reports")
    subs = root / "subs"
    for name in SAMPLES:
        shutil.copytree(SUBMISSIONS / name, subs / name)
    hostile = subs / HOSTILE
    shutil.copytree(SUBMISSIONS / "correct-numpy", hostile)
    code = (hostile / "solution.py").read_text(encoding="utf-8")
    (hostile / "solution.py").write_text(f"print({SCRIPT!r})\n" + code, encoding="utf-8")
    answers = (hostile / "answers.yaml").read_text(encoding="utf-8")
    answers = re.sub(r"(?m)^  learned: .*$", f"  learned: {json.dumps(ANSWER_SCRIPT)}", answers)
    (hostile / "answers.yaml").write_text(answers, encoding="utf-8")
    batch = grade_batch(subs, ASSIGNMENT, root / "out", problems=["linear-ae-gradients", "resnet-blog"], jobs=2)
    return {r.student: r for r in batch.results}, root / "out"


@pytest.fixture(scope="module")
def browser():
    chromium = Browser(CHROMIUM)
    yield chromium
    chromium.close()


def _no_horizontal_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_student_report_in_chromium(graded, browser, tmp_path):
    results, out = graded
    result = results[HOSTILE]
    page = browser.open((out / "students" / HOSTILE / "report.html").as_uri())
    assert page.console_errors() == []
    text = page.text
    assert HOSTILE in text
    assert f"Total: {points(result.score)} / {points(result.max_score)}" in text
    for p in result.problems:
        assert f"{p.title} {p.problem}" in text and f"{points(p.score)} / {points(p.max_score)}" in text
    assert SCRIPT in text  # what the student printed, shown as text
    assert ANSWER_SCRIPT in text and "Written answers awaiting manual grading" in text
    assert page.evaluate("[window.__pwned, window.__answer, document.scripts.length, "
                         "document.querySelectorAll('b').length]") == [None, None, 0, 0]
    assert "PWNED" not in page.evaluate("document.title")
    page.screenshot(tmp_path / "student.png")
    phone = browser.open((out / "students" / "answers-slips" / "report.html").as_uri(), width=390, height=844,
                         mobile=True)
    assert phone.console_errors() == [] and _no_horizontal_scroll(phone)
    phone.screenshot(tmp_path / "student-phone.png")
    assert (tmp_path / "student.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_class_summary_in_chromium(graded, browser, tmp_path):
    results, out = graded
    page = browser.open((out / "index.html").as_uri())
    assert page.console_errors() == []
    text = page.text
    for student, result in results.items():
        assert f"{student}\t{points(result.score)} / {points(result.max_score)}" in text
    assert "Mean" in text and "Median" in text and "raises-exception" in text.split("Errors and limits")[-1]
    assert "sign" in text.split("Most frequent diagnosed mistakes")[1]  # slip-sign's diagnosis
    links = page.evaluate("Array.from(document.querySelectorAll('#students a')).map(a => a.href)")
    assert sorted(links) == sorted((out / "students" / s / "report.html").as_uri() for s in results)
    assert page.evaluate("document.querySelectorAll('svg.chart rect.bar').length") > 0
    page.screenshot(tmp_path / "index.png")
    phone = browser.open((out / "index.html").as_uri(), width=390, height=844, mobile=True)
    assert phone.console_errors() == [] and _no_horizontal_scroll(phone)
    phone.screenshot(tmp_path / "index-phone.png")


def test_reports_print(graded, browser):
    _, out = graded
    page = browser.open((out / "students" / "slip-sign" / "report.html").as_uri())
    assert page.pdf()[:5] == b"%PDF-"


def test_timed_training_in_chromium(sample_batch, browser, tmp_path):
    """The full demo batch (every problem, conftest.sample_batch): the autoencoders kit's report parts (training
    curves, time-to-target) render through the engine's generic templates."""
    out = sample_batch.batch.out
    page = browser.open((out / "students" / "regularized-sum-sgd" / "report.html").as_uri())
    assert page.console_errors() == []
    text = page.text
    assert "Timed training" in text and "Time to target" in text and "Reference here" in text
    assert "Distance to the closed form" in text and "Eq. 6's loss above its minimum" in text
    drawn = page.evaluate("Array.from(document.querySelectorAll('#p-regularized-ae section.part svg.chart polyline'))"
                          ".map(p => p.getBoundingClientRect().width)")
    assert len(drawn) == 4 and all(width > 100 for width in drawn), drawn  # two charts, a line per case
    page.screenshot(tmp_path / "timed-student.png")
    phone = browser.open((out / "students" / "regularized-sum-sgd" / "report.html").as_uri(), width=390,
                         height=844, mobile=True)
    assert phone.console_errors() == [] and _no_horizontal_scroll(phone)
    index = browser.open((out / "index.html").as_uri())
    assert index.console_errors() == []
    timed = index.evaluate("document.querySelector('#timed').innerText")
    assert "within budget" in timed and "homework" in timed and "diverged" in timed
    assert index.evaluate("Array.from(document.querySelectorAll('nav a')).filter(a => a.hash === '#timed')"
                          ".map(a => a.textContent)") == ["Timed training"]
    assert index.evaluate("document.querySelectorAll('#timed svg.chart rect.bar').length") > 0
    index.screenshot(tmp_path / "timed-index.png")
