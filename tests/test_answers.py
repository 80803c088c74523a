"""Written answers: question kinds and scoring, the safe answers.yaml reader, grading end to end,
the manual-grades round trip for free-text answers, and `grader check` on answers.

Only the question problems are graded here (seq2seq-tokens' code checks simply error for lack of a
solution.py), so no student code runs and the whole file is fast.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pydantic
import pytest
import yaml

from conftest import ASSIGNMENT, SUBMISSIONS
from grader import cli
from grader.answers.questions import PENDING_PREFIX, AnswerFormatError, Question
from grader.answers.reader import MAX_BYTES, MAX_DEPTH, MAX_NODES, read_answers
from grader.api import FREE_TEXT, MANUAL_GRADES, grade_batch
from grader.models import Status

QUESTIONS = pydantic.TypeAdapter(Question)
S2S, RAE, BLOG = "seq2seq-tokens", "regularized-ae", "resnet-blog"
WRITTEN = [S2S, RAE, BLOG]
QUESTION_ONLY = [RAE, BLOG]
FREE_TEXT_IDS = {(S2S, "design_problem"), (RAE, "argument"), (BLOG, "learned"), (BLOG, "favourite_approach")}
SAMPLES = ["correct-numpy", "correct-torch", "correct-notebook", "answers-slips", "answers-hostile",
           "answers-wrong-types"]
HOSTILE_MARKER = Path("/tmp/grader-answers-pwned")  # what the sample answers-hostile would create


def question(**spec):
    return QUESTIONS.validate_python(spec)


def spec_question(problem: str, qid: str):
    """A question of a real problem spec, built from its dict the way the spec loader does."""
    data = yaml.safe_load((ASSIGNMENT / f"{problem}.yaml").read_text(encoding="utf-8"))
    return question(**next(q for q in data["questions"] if q["id"] == qid))


def make_submissions(root: Path, names, *, source: Path = SUBMISSIONS) -> Path:
    """A batch folder holding a copy of each sample's answers.yaml only (no code)."""
    root.mkdir(parents=True, exist_ok=True)
    for name in names:
        (root / name).mkdir()
        shutil.copyfile(source / name / "answers.yaml", root / name / "answers.yaml")
    return root


def by_question(result):
    return {(c.problem, c.check): c for p in result.problems for c in p.checks if c.kind == "question"}


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


# --------------------------------------------------------------------------- question kinds


class TestSingleChoice:
    @pytest.mark.parametrize("answer", ["nn.MSELoss", "MSELoss", "torch.nn.MSELoss", "mse", "MSE",
                                        "  Mean   Squared\tError ", "NN.MSELOSS"])
    def test_aliases_case_and_spacing_are_accepted(self, answer):
        score = spec_question(RAE, "loss").score(answer)
        assert score.fraction == 1.0
        assert score.feedback == "correct: nn.MSELoss"

    def test_a_wrong_option_scores_zero_and_names_it(self):
        score = spec_question(RAE, "loss").score("l1")
        assert score.fraction == 0.0
        assert score.feedback == "nn.L1Loss is not right"
        assert score.diagnosis == "chose:nn.L1Loss"

    @pytest.mark.parametrize("answer", [2, "2", "two", " TWO "])
    def test_numbers_and_words_for_numeric_options(self, answer):
        assert spec_question(RAE, "linear_layers").score(answer).fraction == 1.0

    def test_an_alternative_gives_its_credit_and_feedback(self):
        score = spec_question(RAE, "linear_layers").score(1)
        assert score.fraction == 0.0
        assert "one linear layer gives a single m x m matrix" in score.feedback
        assert score.diagnosis == "alternative:1"

    def test_partial_credit_alternative(self):
        q = question(id="q", kind="single_choice", points=2, options=["a", "b", "c"], answer="a",
                     alternatives=[{"answer": "b", "credit": 0.25, "feedback": "close"}])
        assert q.score("B").fraction == 0.25
        assert q.score("B").feedback == "close"
        assert q.score("c").fraction == 0.0

    def test_yes_and_no_read_by_yaml_as_booleans(self):
        q = spec_question(RAE, "orthonormal_bias")
        parsed = yaml.safe_load("a: yes\nb: no\nc: Yes\nd: true\n")
        assert parsed == {"a": True, "b": False, "c": True, "d": True}  # what a student's file gives us
        for value in parsed.values():
            assert q.score(value).fraction == (1.0 if value else 0.0)
        assert q.score(True).feedback == "correct: yes"
        assert q.score(False).feedback == "no is not right"
        assert q.score("YES").fraction == 1.0

    def test_unknown_option_is_a_format_error(self):
        q = spec_question(RAE, "linear_layers")
        with pytest.raises(AnswerFormatError, match=r"'7' is not one of the options: 0, 1, 2, 3"):
            q.score(7)
        with pytest.raises(AnswerFormatError, match="'maybe' is not one of the options"):
            spec_question(RAE, "orthonormal_bias").score("maybe")

    def test_a_list_is_a_format_error(self):
        with pytest.raises(AnswerFormatError, match="expected one option .* got a list"):
            spec_question(RAE, "loss").score(["nn.MSELoss"])


class TestMultipleChoice:
    OPTIONS = ["a", "b", "c", "d", "e"]

    def mc(self, scoring):
        return question(id="m", kind="multiple_choice", points=2, options=self.OPTIONS, answer=["a", "b"],
                        scoring=scoring)

    @pytest.mark.parametrize("chosen, per_option, all_or_nothing, right_minus_wrong", [
        (["a", "b"], 1.0, 1.0, 1.0),
        (["b", "a", "a"], 1.0, 1.0, 1.0),
        (["a"], 0.8, 0.0, 0.5),            # one missed
        (["a", "b", "c"], 0.8, 0.0, 0.5),  # one extra
        (["a", "c"], 0.6, 0.0, 0.0),       # one missed, one extra
        (["a", "b", "c", "d"], 0.6, 0.0, 0.0),
        (["c", "d", "e"], 0.0, 0.0, 0.0),  # right_minus_wrong never below 0
        ([], 0.6, 0.0, 0.0),
    ])
    def test_each_scoring_rule_gives_the_exact_fraction(self, chosen, per_option, all_or_nothing,
                                                        right_minus_wrong):
        assert self.mc("per_option").score(chosen).fraction == pytest.approx(per_option)
        assert self.mc("all_or_nothing").score(chosen).fraction == pytest.approx(all_or_nothing)
        assert self.mc("right_minus_wrong").score(chosen).fraction == pytest.approx(right_minus_wrong)

    def test_default_rule_is_per_option(self):
        q = question(id="m", kind="multiple_choice", points=1, options=self.OPTIONS, answer=["a"])
        assert q.scoring == "per_option"

    @pytest.mark.parametrize("answer", ["SGD optimizer, weight decay", "weight_decay,sgd", " sgd ,  L2 ",
                                        ["l2 regularization", "SGD"]])
    def test_comma_separated_string_and_aliases(self, answer):
        score = spec_question(RAE, "needed").score(answer)
        assert score.fraction == 1.0
        assert score.feedback == "correct: sgd, weight_decay"

    def test_feedback_names_an_extra_option_and_the_rule(self):
        score = spec_question(RAE, "needed").score("weight_decay, sgd, Dropout")
        assert score.fraction == pytest.approx(0.8)
        assert "dropout is not needed (it randomly zeroes activations" in score.feedback
        assert "Scoring: each option counts" in score.feedback
        assert score.diagnosis == "extra:dropout"

    def test_feedback_names_a_missed_option(self):
        score = spec_question(RAE, "needed").score(["weight_decay"])
        assert score.fraction == pytest.approx(0.8)
        assert "sgd is needed (the training is SGD-style" in score.feedback
        assert score.diagnosis == "missed:sgd"

    def test_feedback_names_missed_and_extra_together(self):
        score = self.mc("right_minus_wrong").score(["a", "d"])
        assert score.feedback.startswith("b is needed; d is not needed. Scoring: credit per right option")

    def test_wrong_forms_are_format_errors(self):
        q = spec_question(RAE, "needed")
        with pytest.raises(AnswerFormatError, match="'momentum' is not one of the options"):
            q.score(["sgd", "momentum"])
        with pytest.raises(AnswerFormatError, match="expected a list of options, got a dict"):
            q.score({"sgd": True})
        with pytest.raises(AnswerFormatError, match="expected a list of options, got a bool"):
            q.score(True)


class TestNumber:
    @pytest.mark.parametrize("answer", [94, 94.0, "94", "94%", "94 %", 0.94, "0.94", " 94 percent ", "94.03"])
    def test_percent_forms(self, answer):
        score = spec_question(BLOG, "baseline_accuracy").score(answer)
        assert score.fraction == 1.0, score
        assert score.feedback.startswith("correct: 94")
        assert score.feedback.endswith("%")

    def test_percent_wrong_value(self):
        score = spec_question(BLOG, "baseline_accuracy").score(0.93)
        assert score.fraction == 0.0
        assert score.feedback == "93% is not right"

    @pytest.mark.parametrize("answer", ["94 min", "94 s", "very high", "94%%"])
    def test_percent_rejects_other_units_and_words(self, answer):
        with pytest.raises(AnswerFormatError):
            spec_question(BLOG, "baseline_accuracy").score(answer)

    def test_a_wrong_unit_says_which_unit_to_use(self):
        with pytest.raises(AnswerFormatError, match=r"unit 'min' not understood; give the value in %"):
            spec_question(BLOG, "baseline_accuracy").score("94 min")

    @pytest.mark.parametrize("answer", [26, "26", "26 s", "26s", "26 seconds", "26 sec", "26 Seconds", 26.4, "25.6 s"])
    def test_seconds_forms(self, answer):
        score = spec_question(BLOG, "final_seconds").score(answer)
        assert score.fraction == 1.0
        assert score.feedback.startswith("correct: 2") and score.feedback.endswith(" s")

    @pytest.mark.parametrize("answer", ["26 min", "26 ms", "26 h"])
    def test_seconds_rejects_other_units(self, answer):
        with pytest.raises(AnswerFormatError, match="give the value in s"):
            spec_question(BLOG, "final_seconds").score(answer)

    def test_alternatives_with_partial_credit_and_feedback(self):
        q = spec_question(BLOG, "final_seconds")
        part1 = q.score(297)
        assert part1.fraction == 0.5
        assert "end of part 1" in part1.feedback
        assert part1.diagnosis == "alternative:297"
        assert q.score("79 s").fraction == 0.5
        assert "intermediate part" in q.score("79 s").feedback
        no_tta = q.score(34)
        assert no_tta.fraction == 1.0
        assert "without test-time augmentation" in no_tta.feedback
        assert q.score(100).fraction == 0.0
        assert q.score(100).feedback == "100 s is not right"
        assert q.score(100).diagnosis == "wrong_value"

    def test_a_full_credit_alternative(self):
        score = spec_question(BLOG, "baseline_seconds").score("341 seconds")
        assert score.fraction == 1.0
        assert "DAWNBench" in score.feedback

    @pytest.mark.parametrize("answer, message", [
        (True, "expected a number in s, got a bool"),
        ([26], "expected a number in s, got a list"),
        ("fast", "'fast' is not a number"),
        ("1e999", "not finite"),
    ])
    def test_not_numbers_are_format_errors(self, answer, message):
        with pytest.raises(AnswerFormatError, match=message):
            spec_question(BLOG, "final_seconds").score(answer)

    def test_unitless_number_refuses_a_unit(self):
        q = question(id="n", kind="number", points=1, answer=3)
        assert q.score("3").fraction == 1.0
        with pytest.raises(AnswerFormatError, match="give a plain number"):
            q.score("3 apples")


def test_single_choice_alternative_written_as_a_number():
    q = question(id="q", kind="single_choice", points=1, options=["1", "2"], answer="2",
                 alternatives=[{"answer": 1, "credit": 0.5, "feedback": "half"}])
    assert q.score("1").fraction == 0.5


def test_a_huge_integer_is_a_format_error():
    with pytest.raises(AnswerFormatError):
        spec_question(BLOG, "final_seconds").score(10 ** 400)


class TestTokens:
    @pytest.mark.parametrize("answer", [["<sos>", "I", "see", "a", "dog"], "<sos> I see a dog",
                                        "<sos>, I, see, a, dog", "[<sos>, I, see, a, dog]"])
    def test_a_list_or_a_string(self, answer):
        score = spec_question(S2S, "training_inputs").score(answer)
        assert score.fraction == 1.0
        assert score.feedback == "correct: <sos> I see a dog"

    def test_alternatives_explain_the_mistake(self):
        targets = spec_question(S2S, "training_inputs").score("I see a dog <eos>")
        assert targets.fraction == 0.0
        assert "targets" in targets.feedback
        ground_truth = spec_question(S2S, "eval_inputs").score(["<sos>", "I", "see", "a", "dog"])
        assert ground_truth.fraction == 0.0
        assert "ground truth" in ground_truth.feedback

    def test_order_matters(self):
        score = spec_question(S2S, "training_inputs").score("<sos> see I a dog")
        assert score.fraction == 0.0
        assert score.feedback == "<sos> see I a dog is not right"

    @pytest.mark.parametrize("answer", [{"first": "<sos>"}, 5, [["<sos>"]], [True]])
    def test_wrong_forms_are_format_errors(self, answer):
        with pytest.raises(AnswerFormatError, match="expected a list of tokens"):
            spec_question(S2S, "training_inputs").score(answer)


class TestFreeText:
    def test_is_pending_with_the_answer(self):
        score = spec_question(RAE, "argument").score("  Balanced singular values.  ")
        assert score.status is Status.PENDING
        assert score.fraction == 0.0
        assert score.feedback == PENDING_PREFIX + "Balanced singular values."

    @pytest.mark.parametrize("answer", ["", "   \n "])
    def test_an_empty_answer_is_a_format_error(self, answer):
        with pytest.raises(AnswerFormatError, match="empty"):
            spec_question(RAE, "argument").score(answer)

    def test_other_forms_are_format_errors(self):
        q = question(id="t", kind="free_text", points=1, max_chars=10)
        with pytest.raises(AnswerFormatError, match="expected text, got a list"):
            q.score(["not", "text"])
        with pytest.raises(AnswerFormatError, match="longer than 10 characters"):
            q.score("x" * 11)
        assert q.score(42).status is Status.PENDING


class TestSpecValidation:
    @pytest.mark.parametrize("spec", [
        dict(kind="single_choice", options=["a", "b"], answer="c"),                       # answer not an option
        dict(kind="single_choice", options=["a", "b"], answer="a", aliases={"z": ["zz"]}),
        dict(kind="single_choice", options=["a", "b"], answer="a", alternatives=[{"answer": "q", "credit": 0.5}]),
        dict(kind="single_choice", options=["a", "b"], answer="a", alternatives=[{"answer": "b", "credit": 1.5}]),
        dict(kind="single_choice", options=["a"], answer="a"),                            # one option
        dict(kind="multiple_choice", options=["a", "b"], answer=["a", "c"]),
        dict(kind="multiple_choice", options=["a", "b"], answer=["a"], scoring="half_credit"),
        dict(kind="multiple_choice", options=["a", "b"], answer=["a"], explanations={"x": "?"}),
        dict(kind="number", answer=1, alternatives=[{"answer": 2, "credit": 2}]),          # credit > 1
        dict(kind="number", answer=1, alternatives=[{"answer": 2, "credit": -0.5}]),
        dict(kind="number", answer=1, abs_tol=-1),
        dict(kind="number", answer=float("nan")),
        dict(kind="tokens", answer=["a"], alternatives=[{"answer": ["b"], "credit": 1.01}]),
        dict(kind="free_text", max_chars=0),
        dict(kind="essay"),                                                                # unknown kind
        dict(kind="free_text", typo_field=1),                                              # extra key
    ])
    def test_bad_specs_raise_validation_errors(self, spec):
        with pytest.raises(pydantic.ValidationError):
            question(id="q", points=1, **spec)

    @pytest.mark.parametrize("points", [0, -1])
    def test_points_must_be_positive(self, points):
        with pytest.raises(pydantic.ValidationError):
            question(id="q", points=points, kind="free_text")

    def test_bad_ids_are_refused(self):
        with pytest.raises(pydantic.ValidationError):
            question(id="has space", points=1, kind="free_text")

    def test_the_real_specs_are_valid(self):
        for problem in QUESTION_ONLY + [S2S]:
            data = yaml.safe_load((ASSIGNMENT / f"{problem}.yaml").read_text(encoding="utf-8"))
            for spec in data["questions"]:
                question(**spec)


# --------------------------------------------------------------------------- the reader


def write_answers(tmp_path: Path, content: str | bytes) -> Path:
    path = tmp_path / "answers.yaml"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


class TestReader:
    def test_plain_answers_are_read(self, tmp_path):
        answers = read_answers(write_answers(tmp_path, "resnet-blog:\n  final_seconds: 26\n  learned: x\n"
                                                       "regularized-ae:\n  needed: [sgd]\n"))
        assert answers.error is None and answers.notes == []
        assert answers.get(BLOG, "final_seconds") == (True, 26)
        assert answers.get(RAE, "needed") == (True, ["sgd"])
        assert answers.get(BLOG, "nope") == (False, None)
        assert answers.get("nope", "nope") == (False, None)

    def test_a_python_tag_is_refused_and_never_run(self, tmp_path):
        marker = tmp_path / "pwned"
        path = write_answers(tmp_path, f"# hostile\nseq2seq-tokens:\n"
                                       f"  training_inputs: !!python/object/apply:os.system [\"touch {marker}\"]\n")
        answers = read_answers(path)
        assert answers.error is not None
        assert "!!python/object/apply:os.system" in answers.error
        assert "not allowed" in answers.error
        assert "line 3" in answers.error
        assert answers.data == {}
        assert not marker.exists()

    @pytest.mark.parametrize("tag", ["!!python/name:os.system", "!!binary", "!!set", "!custom"])
    def test_other_tags_are_refused(self, tmp_path, tag):
        answers = read_answers(write_answers(tmp_path, f"resnet-blog:\n  learned: {tag} aGk=\n"))
        assert answers.error is not None and "not allowed" in answers.error and "line 2" in answers.error

    def test_a_yaml_bomb_is_refused_without_expanding(self, tmp_path):
        lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
        for prev, name in zip("abcdefgh", "bcdefghi"):
            lines.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]")
        answers = read_answers(write_answers(tmp_path, "\n".join(lines) + "\n"))  # 9**9 strings if expanded
        assert answers.error is not None
        assert "anchors (&a) are not allowed" in answers.error or "aliases" in answers.error
        assert "line 1" in answers.error
        assert answers.data == {}

    def test_an_alias_is_refused(self, tmp_path):
        answers = read_answers(write_answers(tmp_path, "resnet-blog:\n  learned: *text\n"))
        assert answers.error == ("answers.yaml line 2: aliases (*text) are not allowed; write the value out")

    def test_too_deep_and_too_many_values_are_refused(self, tmp_path):
        deep = read_answers(write_answers(tmp_path, "a: " + "[" * (MAX_DEPTH + 5) + "]" * (MAX_DEPTH + 5) + "\n"))
        assert f"nested more than {MAX_DEPTH} levels deep" in deep.error
        many = read_answers(write_answers(tmp_path, "a: [" + ",".join(["1"] * (MAX_NODES + 1)) + "]\n"))
        assert f"more than {MAX_NODES} values" in many.error

    def test_a_file_over_256_kb_is_refused(self, tmp_path):
        body = "resnet-blog:\n  learned: ok\n"
        path = write_answers(tmp_path, body + "#" * (MAX_BYTES - len(body) + 1))
        assert MAX_BYTES == 256 * 1024 and path.stat().st_size == MAX_BYTES + 1
        assert read_answers(path).error == "answers.yaml is larger than 256 KB"

    def test_a_file_of_exactly_256_kb_is_read(self, tmp_path):
        body = "resnet-blog:\n  learned: ok\n"
        path = write_answers(tmp_path, body + "#" * (MAX_BYTES - len(body)))
        answers = read_answers(path)
        assert answers.error is None and answers.get(BLOG, "learned") == (True, "ok")

    def test_non_utf8_is_refused(self, tmp_path):
        answers = read_answers(write_answers(tmp_path, b"resnet-blog:\n  learned: caf\xe9\n"))
        assert answers.error == "answers.yaml is not UTF-8 text"

    def test_invalid_yaml_names_the_line(self, tmp_path):
        answers = read_answers(write_answers(tmp_path, "resnet-blog:\n  learned: ok\n bad: 2\n"))
        assert answers.error.startswith("answers.yaml is not valid YAML at line 3:")

    def test_a_top_level_list_is_refused(self, tmp_path):
        answers = read_answers(write_answers(tmp_path, "- resnet-blog\n- 26\n"))
        assert "must map problem ids to their answers" in answers.error

    @pytest.mark.parametrize("content", ["", "# only a comment\n", "~\n"])
    def test_an_empty_file_is_refused(self, tmp_path, content):
        assert read_answers(write_answers(tmp_path, content)).error == "answers.yaml is empty"

    def test_a_missing_file(self, tmp_path):
        assert read_answers(tmp_path / "answers.yaml").error == "no answers.yaml in the submission"
        (tmp_path / "answers.yaml").mkdir()  # a folder of that name is no file either
        assert read_answers(tmp_path / "answers.yaml").error == "no answers.yaml in the submission"

    def test_a_section_that_is_not_a_mapping_is_a_note(self, tmp_path):
        answers = read_answers(write_answers(tmp_path, "resnet-blog: 26\nregularized-ae:\n  loss: mse\n"))
        assert answers.error is None
        assert answers.notes == ["answers.yaml: resnet-blog: expected question: answer pairs, got a int"]
        assert answers.get(RAE, "loss") == (True, "mse")


# --------------------------------------------------------------------------- end to end


@pytest.fixture(scope="module")
def samples(tmp_path_factory):
    """The six answer samples graded once on the written problems; by student."""
    hostile_marker_existed = HOSTILE_MARKER.exists()
    root = tmp_path_factory.mktemp("samples")
    subs = make_submissions(root / "subs", SAMPLES)
    batch = grade_batch(subs, ASSIGNMENT, root / "out", problems=WRITTEN)
    assert batch.warnings == []
    results = {r.student: r for r in batch.results}
    assert sorted(results) == sorted(SAMPLES)
    return results, batch, hostile_marker_existed


@pytest.mark.parametrize("student", ["correct-numpy", "correct-torch", "correct-notebook"])
def test_correct_answers_pass_and_free_text_is_pending(samples, student):
    result = samples[0][student]
    got = by_question(result)
    assert len(got) == 14
    for key, c in got.items():
        if key in FREE_TEXT_IDS:
            assert c.status is Status.PENDING, key
            assert c.score == 0.0 and c.feedback.startswith(PENDING_PREFIX)
        else:
            assert c.status is Status.PASSED, (key, c.feedback)
            assert c.score == c.max_score
    assert not [n for n in result.notes if n.startswith("answers.yaml")]
    problems = {p.problem: p for p in result.problems}
    written = [c for c in problems[RAE].checks if c.kind == "question"]  # its code part: no solution.py here
    assert sum(c.score for c in written) == 5 and sum(c.max_score for c in written) == 8
    assert all(c.status in (Status.PASSED, Status.PENDING) for c in written)
    assert problems[BLOG].score == 4 and problems[BLOG].max_score == 8 and problems[BLOG].passed


def test_correct_notebook_alternatives_are_accepted_with_their_feedback(samples):
    got = by_question(samples[0]["correct-notebook"])
    assert "DAWNBench" in got[BLOG, "baseline_seconds"].feedback
    assert "without test-time augmentation" in got[BLOG, "final_seconds"].feedback


SLIPS = {  # question: (status, score, a phrase of the feedback, diagnosis)
    (S2S, "design_problem"): (Status.PENDING, 0.0, "It is slower.", "manual"),
    (S2S, "training_inputs"): (Status.FAILED, 0.0, "targets", "alternative:I see a dog <eos>"),
    (S2S, "eval_inputs"): (Status.FAILED, 0.0, "ground truth", "alternative:<sos> I see a dog"),
    (RAE, "linear_layers"): (Status.FAILED, 0.0, "one linear layer", "alternative:1"),
    (RAE, "loss"): (Status.FAILED, 0.0, "nn.L1Loss is not right", "chose:nn.L1Loss"),
    (RAE, "needed"): (Status.FAILED, 1.6, "dropout is not needed", "extra:dropout"),
    (RAE, "orthonormal_bias"): (Status.FAILED, 0.0, "no is not right", "chose:no"),
    (RAE, "argument"): (Status.PENDING, 0.0, "No.", "manual"),
    (BLOG, "baseline_seconds"): (Status.FAILED, 0.0, "297 s is not right", "wrong_value"),
    (BLOG, "baseline_accuracy"): (Status.PASSED, 1.0, "correct: 94%", None),
    (BLOG, "final_seconds"): (Status.FAILED, 0.5, "end of part 1", "alternative:297"),
    (BLOG, "final_accuracy"): (Status.FAILED, 0.0, "93% is not right", "wrong_value"),
    (BLOG, "learned"): (Status.PENDING, 0.0, "Things.", "manual"),
    (BLOG, "favourite_approach"): (Status.PENDING, 0.0, "All of them.", "manual"),
}


def test_slips_get_their_diagnoses_and_partial_credit(samples):
    got = by_question(samples[0]["answers-slips"])
    assert set(got) == set(SLIPS)
    for key, (status, score, phrase, diagnosis) in SLIPS.items():
        c = got[key]
        assert (c.status, c.score, c.diagnosis) == (status, pytest.approx(score), diagnosis), key
        assert phrase in c.feedback, (key, c.feedback)
    needed = got[RAE, "needed"]
    assert needed.max_score == 2 and needed.score == pytest.approx(0.8 * 2)  # per_option: 4 of 5 right
    problems = {p.problem: p for p in samples[0]["answers-slips"].problems}
    assert problems[RAE].score == pytest.approx(1.6)
    assert problems[BLOG].score == pytest.approx(1.5)


def test_hostile_answers_are_refused_and_nothing_runs(samples):
    results, _, marker_existed = samples
    result = results["answers-hostile"]
    got = by_question(result)
    assert len(got) == 14
    for key, c in got.items():
        assert c.status is Status.ERROR, key
        assert c.score == 0.0
        assert "not allowed" in c.feedback and "!!python/object/apply:os.system" in c.feedback
    assert any("not allowed" in n and "line 3" in n for n in result.notes)
    if not marker_existed:
        assert not HOSTILE_MARKER.exists()


WRONG_TYPES = {  # question: (status, a phrase of the feedback)
    (S2S, "design_problem"): (Status.ERROR, "expected text, got a list"),
    (S2S, "training_inputs"): (Status.ERROR, "expected a list of tokens, got a dict"),
    (S2S, "eval_inputs"): (Status.PASSED, "correct: <sos> I saw a dog"),
    (RAE, "linear_layers"): (Status.ERROR, "'7' is not one of the options"),
    (RAE, "loss"): (Status.PASSED, "correct: nn.MSELoss"),
    (RAE, "needed"): (Status.FAILED, "sgd is needed"),  # a single option as a string is a valid form
    (RAE, "orthonormal_bias"): (Status.PASSED, "correct: yes"),
    (RAE, "argument"): (Status.PENDING, "A fine argument."),
    (BLOG, "baseline_seconds"): (Status.ERROR, "no answer: add 'baseline_seconds' under 'resnet-blog'"),
    (BLOG, "baseline_accuracy"): (Status.ERROR, "'very high' is not a number"),
    (BLOG, "final_seconds"): (Status.ERROR, "unit 'min' not understood"),
    (BLOG, "final_accuracy"): (Status.PASSED, "correct: 94%"),
    (BLOG, "learned"): (Status.PENDING, "Lots."),
    (BLOG, "favourite_approach"): (Status.PENDING, "Mixed precision."),
}


def test_wrong_types_cost_only_their_own_question(samples):
    result = samples[0]["answers-wrong-types"]
    got = by_question(result)
    assert set(got) == set(WRONG_TYPES)
    for key, (status, phrase) in WRONG_TYPES.items():
        assert got[key].status is status, (key, got[key].feedback)
        assert phrase in got[key].feedback, (key, got[key].feedback)
        if status is Status.ERROR:
            assert got[key].score == 0.0
    assert len({got[k].feedback for k, (s, _) in WRONG_TYPES.items() if s is Status.ERROR}) == 6  # each its own
    typo = [n for n in result.notes if "baseline_second'" in n]
    assert typo == ["answers.yaml: resnet-blog: unknown question 'baseline_second' (expected: baseline_accuracy, "
                    "baseline_seconds, favourite_approach, final_accuracy, final_seconds, learned)"]


@pytest.mark.parametrize("digits, message", [
    (400, "the number is too large"),  # no float holds it
    (5000, "line 3: a number of 5000 digits is too long to read (at most 4300)"),  # nor does Python's int()
])
def test_a_huge_integer_costs_only_its_own_question(tmp_path, digits, message):
    subs = tmp_path / "subs"
    (subs / "big").mkdir(parents=True)
    (subs / "big" / "answers.yaml").write_text("resnet-blog:\n  baseline_accuracy: 94\n  final_seconds: " +
                                               "9" * digits + "\n", encoding="utf-8")
    result = grade_batch(subs, ASSIGNMENT, tmp_path / "out", problems=[BLOG]).results[0]
    got = by_question(result)
    assert got[BLOG, "final_seconds"].status is Status.ERROR
    assert got[BLOG, "final_seconds"].feedback == message
    assert got[BLOG, "baseline_accuracy"].status is Status.PASSED
    assert result.max_score == 8


def test_scores_csv_and_free_text_csv_of_the_samples(samples):
    _, batch, _ = samples
    rows = {(r["student"], r["problem"]): r for r in read_csv(batch.scores_csv)}
    assert rows["correct-torch", RAE]["score"] == "5" and rows["correct-torch", RAE]["max_score"] == "18"
    assert rows["answers-slips", RAE]["score"] == "1.6"
    assert rows["answers-slips", BLOG]["score"] == "1.5"
    assert rows["answers-hostile", BLOG]["score"] == "0"
    pending = read_csv(batch.out / FREE_TEXT)
    assert len(pending) == 4 * 3 + 4 + 3  # correct x3, slips, wrong-types (its design_problem is a list)
    assert {"answers-hostile"} & {r["student"] for r in pending} == set()


# --------------------------------------------------------------------------- manual grades


def write_manual(path: Path, rows) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["student", "problem", "question", "points", "comment", "answer"])
        writer.writerows(rows)


def test_manual_grades_round_trip(tmp_path):
    subs = make_submissions(tmp_path / "subs", ["correct-numpy", "answers-slips"])
    out = tmp_path / "out"
    first = grade_batch(subs, ASSIGNMENT, out, problems=QUESTION_ONLY)
    assert first.warnings == []

    exported = read_csv(out / FREE_TEXT)
    assert list(exported[0]) == ["student", "problem", "question", "points", "comment", "answer"]
    listed = {(r["student"], r["problem"], r["question"]): r for r in exported}
    assert set(listed) == {(s, p, q) for s in ("correct-numpy", "answers-slips")
                           for p, q in [(RAE, "argument"), (BLOG, "learned"), (BLOG, "favourite_approach")]}
    assert all(r["points"] == "" and r["comment"] == "" for r in exported)
    assert listed["answers-slips", BLOG, "learned"]["answer"] == "Things."
    assert listed["correct-numpy", RAE, "argument"]["answer"].startswith("The penalty is minimised, for a fixed")
    assert listed["correct-numpy", RAE, "argument"]["answer"].endswith("so W2 tends to orthonormal columns.")

    graded = {("correct-numpy", RAE, "argument"): ("3", "clear, with the sigma argument"),
              ("correct-numpy", BLOG, "learned"): ("1.5", "a bit short"),
              ("answers-slips", RAE, "argument"): ("0", "")}
    rows = []
    for r in exported:
        points, comment = graded.get((r["student"], r["problem"], r["question"]), ("", ""))
        rows.append([r["student"], r["problem"], r["question"], points, comment, r["answer"]])
    write_manual(out / MANUAL_GRADES, rows)

    second = grade_batch(subs, ASSIGNMENT, out, problems=QUESTION_ONLY)
    assert second.warnings == []
    results = {r.student: by_question(r) for r in second.results}
    argument = results["correct-numpy"][RAE, "argument"]
    assert (argument.status, argument.score, argument.max_score) == (Status.PASSED, 3, 3)
    assert argument.feedback.startswith("graded by hand: 3 / 3. clear, with the sigma argument\nYour answer: The penalty")
    learned = results["correct-numpy"][BLOG, "learned"]
    assert (learned.status, learned.score) == (Status.FAILED, 1.5)
    assert "graded by hand: 1.5 / 2" in learned.feedback and "a bit short" in learned.feedback
    slip = results["answers-slips"][RAE, "argument"]
    assert (slip.status, slip.score) == (Status.FAILED, 0)
    assert slip.feedback == "graded by hand: 0 / 3\nYour answer: No."
    assert results["answers-slips"][BLOG, "learned"].status is Status.PENDING  # left empty: still pending

    scores = {(r["student"], r["problem"]): r["score"] for r in read_csv(out / "scores.csv")}
    assert scores["correct-numpy", RAE] == "8"
    assert scores["correct-numpy", BLOG] == "5.5"
    assert scores["answers-slips", RAE] == "1.6"
    still = {(r["student"], r["problem"], r["question"]) for r in read_csv(out / FREE_TEXT)}
    assert still == {("correct-numpy", BLOG, "favourite_approach"), ("answers-slips", BLOG, "learned"),
                     ("answers-slips", BLOG, "favourite_approach")}


def test_manual_grades_from_an_explicit_path(tmp_path):
    subs = make_submissions(tmp_path / "subs", ["correct-torch"])
    manual = tmp_path / "grades.csv"
    write_manual(manual, [["correct-torch", BLOG, "favourite_approach", "2", "good", ""]])
    batch = grade_batch(subs, ASSIGNMENT, tmp_path / "out", problems=QUESTION_ONLY, manual=manual)
    c = by_question(batch.results[0])[BLOG, "favourite_approach"]
    assert (c.status, c.score) == (Status.PASSED, 2)
    assert "graded by hand: 2 / 2. good" in c.feedback


def bad_manual_batch(tmp_path):
    subs = make_submissions(tmp_path / "subs", ["correct-numpy"])
    out = tmp_path / "out"
    out.mkdir()
    write_manual(out / MANUAL_GRADES, [
        ["correct-numpy", RAE, "argument", "5", "", ""],          # line 2: above the 3 points
        ["correct-numpy", RAE, "no_such_question", "1", "", ""],  # line 3: unknown question
        ["ghost", BLOG, "learned", "1", "", ""],                  # line 4: no such student
        ["correct-numpy", BLOG, "learned", "lots", "", ""],       # line 5: not a number
    ])
    return out, grade_batch(subs, ASSIGNMENT, out, problems=QUESTION_ONLY)


def test_bad_manual_rows_are_warnings_naming_file_and_line(tmp_path):
    out, batch = bad_manual_batch(tmp_path)
    path = str(out / MANUAL_GRADES)
    assert len(batch.warnings) == 4, batch.warnings
    assert all(w.startswith(path) for w in batch.warnings)
    above = [w for w in batch.warnings if w.startswith(f"{path}:2:")]
    assert len(above) == 1 and "'5'" in above[0] and "from 0 to 3" in above[0]
    unknown = [w for w in batch.warnings if w.startswith(f"{path}:3:")]
    assert len(unknown) == 1 and "no question 'no_such_question' in problem 'regularized-ae'" in unknown[0]
    assert any(w.startswith(f"{path}:5:") and "'lots'" in w for w in batch.warnings)
    ghost = [w for w in batch.warnings if "ghost" in w]
    assert len(ghost) == 1 and "no submission for student 'ghost'" in ghost[0]
    # nothing was applied: the answers still await grading
    got = by_question(batch.results[0])
    assert got[RAE, "argument"].status is Status.PENDING
    assert got[BLOG, "learned"].status is Status.PENDING


def test_a_row_for_an_unknown_student_names_its_line(tmp_path):
    out, batch = bad_manual_batch(tmp_path)
    assert any(w.startswith(f"{out / MANUAL_GRADES}:4:") and "ghost" in w for w in batch.warnings)


def test_bad_manual_rows_are_printed_by_the_cli(tmp_path, capsys):
    subs = make_submissions(tmp_path / "subs", ["correct-numpy"])
    manual = tmp_path / "grades.csv"
    write_manual(manual, [["correct-numpy", RAE, "argument", "9", "", ""]])
    code = cli.main(["grade", str(subs), "--assignment", str(ASSIGNMENT), "--out", str(tmp_path / "out"),
                     "--problems", ",".join(QUESTION_ONLY), "--manual", str(manual), "--quiet"])
    err = capsys.readouterr().err
    assert code == 0
    assert f"warning: {manual}:2: points '9' must be a number from 0 to 3" in err


def test_a_missing_manual_file_is_a_clear_error(tmp_path, capsys):
    subs = make_submissions(tmp_path / "subs", ["correct-numpy"])
    missing = tmp_path / "nowhere.csv"
    code = cli.main(["grade", str(subs), "--assignment", str(ASSIGNMENT), "--out", str(tmp_path / "out"),
                     "--problems", ",".join(QUESTION_ONLY), "--manual", str(missing), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2
    assert f"grader: {missing}: no such manual grades file" in err
    assert "Traceback" not in err


def test_a_missing_explicit_manual_grades_csv_is_an_error(tmp_path, capsys):
    subs = make_submissions(tmp_path / "subs", ["correct-numpy"])
    missing = tmp_path / "elsewhere" / MANUAL_GRADES
    code = cli.main(["grade", str(subs), "--assignment", str(ASSIGNMENT), "--out", str(tmp_path / "out"),
                     "--problems", ",".join(QUESTION_ONLY), "--manual", str(missing), "--quiet"])
    assert code == 2


# --------------------------------------------------------------------------- grader check


def check(capsys, folder: Path, problems=("resnet-blog", "regularized-ae")):
    code = cli.main(["check", str(folder), "--assignment", str(ASSIGNMENT), "--problems", ",".join(problems)])
    return code, capsys.readouterr()


def test_check_lists_answers_to_fix(tmp_path, capsys):
    folder = make_submissions(tmp_path, ["answers-wrong-types"]) / "answers-wrong-types"
    code, out = check(capsys, folder)
    assert code == 1
    fixes = [line for line in out.out.splitlines() if line.startswith("  fix:")]
    assert fixes == [
        "  fix: answers.yaml: regularized-ae: linear_layers: '7' is not one of the options: 0, 1, 2, 3",
        "  fix: answers.yaml: resnet-blog: no answer to 'baseline_seconds' yet",
        "  fix: answers.yaml: resnet-blog: baseline_accuracy: 'very high' is not a number",
        "  fix: answers.yaml: resnet-blog: final_seconds: unit 'min' not understood; give the value in s",
    ]
    assert "answers.yaml has 4 answer(s) to fix" in out.out
    assert "unknown question 'baseline_second'" in out.out
    # the form is checked, never the correctness: needed (missing sgd) is a valid form and is not mentioned
    assert "correct:" not in out.out and "sgd is needed" not in out.out and "needed" not in out.out


def test_check_of_correct_answers_reveals_nothing(tmp_path, capsys):
    folder = make_submissions(tmp_path, ["correct-numpy"]) / "correct-numpy"
    shutil.copyfile(SUBMISSIONS / "regularized-sum-sgd" / "solution.py", folder / "solution.py")  # its code part
    code, out = check(capsys, folder)
    assert code == 0, out.out
    assert "fix:" not in out.out
    assert "correct:" not in out.out and "is not right" not in out.out
    assert not [line for line in out.out.splitlines() if "PASS" in line and not line.startswith("  [   PASS]")]
    assert "resnet-blog - How to train your ResNet (reading questions): written answers, graded after submission" \
        in out.out
    assert "All public checks pass." in out.out


def test_check_of_hostile_answers_runs_nothing(tmp_path, capsys):
    marker = tmp_path / "pwned"
    folder = tmp_path / "hostile"
    folder.mkdir()
    (folder / "answers.yaml").write_text(
        f"resnet-blog:\n  learned: !!python/object/apply:os.system [\"touch {marker}\"]\n", encoding="utf-8")
    code, out = check(capsys, folder)
    assert "note: answers.yaml line 2: the tag !!python/object/apply:os.system is not allowed" in out.out
    assert not marker.exists()


@pytest.mark.parametrize("content", [None, "resnet-blog: [unclosed\n", "a: !!python/name:os.system x\n"])
def test_check_fails_when_answers_yaml_cannot_be_used(tmp_path, capsys, content):
    folder = tmp_path / "student"
    folder.mkdir()
    if content is not None:
        (folder / "answers.yaml").write_text(content, encoding="utf-8")
    code, out = check(capsys, folder)
    assert code == 1
    assert "fix:" in out.out


@pytest.mark.parametrize("answer", ["nn.MSELoss(reduction='sum')", 'torch.nn.MSELoss( reduction = "sum" )',
                                    "MSELoss(reduction='mean')", "nn.mseloss"])
def test_a_more_precise_loss_is_still_the_right_one(answer):
    """nn.MSELoss(reduction='sum') is Eq. 6's own reduction: right, not "not one of the options"; spaces around
    = and ( ) and the kind of quotes do not count."""
    from grader.spec import load_assignment

    question = next(q for q in load_assignment(ASSIGNMENT).problem("regularized-ae").questions if q.id == "loss")
    assert question.score(answer).fraction == 1.0
    with pytest.raises(AnswerFormatError, match="not one of the options"):
        question.score("nn.MSELoss(reduction='none')")
