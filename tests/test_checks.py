"""The checks on their own (no sandbox): correct answers pass, named slips are recognised, bad values are errors."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from grader.checks import CHECKS, AnswerError, CaseData, Verdict
from grader.checks.slips import SLIPS, SlipRef
from grader.models import Case, EntryPoint, Status, Visibility
from grader.reference import build_inputs
from grader.spec import load_assignment
from grader.tolerance import Tolerance

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENT = load_assignment(ROOT / "problems" / "autoencoders")
KIT = ASSIGNMENT.kit  #: the assignment's kit: its generators, its loss and its own slips (scaled_by_n, scaled_by_mn)
PROBLEM = next(p for p in ASSIGNMENT.problems if p.id == "linear-ae-gradients")
REFERENCE = ROOT / "problems" / "autoencoders" / "linear_ae_gradients_ref.py"
ENTRY = EntryPoint("linear_ae_gradients", ("X", "W1", "W2"), ("dW1", "dW2"))
BUILTIN_SLIPS = ["swapped", "transposed", "factor_two", "sign", "zeros", "returned_inputs"]
KIT_SLIPS = ["scaled_by_n", "scaled_by_mn"]  #: the kit's (kit/gradients.py)
ALL_SLIPS = ["swapped", "transposed", "factor_two", "sign", "scaled_by_n", "scaled_by_mn", "zeros", "returned_inputs"]
CONTEXT = {"kit": KIT}  #: what the spec loader validates a check's params against

# (m, n, k, seed): n and m*n are never 2, so that "divided by n" cannot also read as "half"
SHAPES = [(8, 20, 3, 0), (6, 10, 1, 1), (10, 4, 3, 2), (5, 12, 4, 3), (2, 3, 1, 103)]


def _load_reference():
    spec = importlib.util.spec_from_file_location("linear_ae_gradients_ref", REFERENCE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.linear_ae_gradients


reference = _load_reference()


def make_case(m: int, n: int, k: int, seed: int) -> tuple[Case, dict]:
    case = Case(f"c{m}x{n}x{k}-s{seed}", ENTRY.name, "gaussian_autoencoder", {"m": m, "n": n, "k": k}, seed,
                Visibility.PUBLIC)
    return case, build_inputs(PROBLEM, case)


def case_data(value, shape=SHAPES[0], *, expected: dict | None = None) -> CaseData:
    case, inputs = make_case(*shape)
    if expected is None:
        dW1, dW2 = reference(**inputs)
        expected = {"dW1": dW1, "dW2": dW2}
    return CaseData(case, ENTRY, inputs, expected, value, kit=KIT)


def expected_and_inputs(shape=SHAPES[0]):
    case, inputs = make_case(*shape)
    return reference(**inputs), inputs


def allclose_params(**overrides):
    return CHECKS["allclose"].params.model_validate({"rtol": 1e-6, "atol": 1e-9, "diagnose": ALL_SLIPS, **overrides},
                                                    context=CONTEXT)


def fd_params(**overrides):
    return CHECKS["finite_difference"].params.model_validate(
        {"loss": "linear_autoencoder", "wrt": {"W1": "dW1", "W2": "dW2"}, "directions": 3, "rtol": 1e-4, **overrides},
        context=CONTEXT)


def allclose(data: CaseData, **overrides) -> Verdict:
    return CHECKS["allclose"].func(data, allclose_params(**overrides))


def finite_difference(data: CaseData, **overrides) -> Verdict:
    return CHECKS["finite_difference"].func(data, fd_params(**overrides))


def outcome(check, data: CaseData) -> Status:
    """PASSED or FAILED as a grader would record it (an AnswerError carries its own status)."""
    try:
        verdict = check(data)
    except AnswerError as exc:
        return exc.status
    return Status.PASSED if verdict.passed else Status.FAILED


def slipped(name: str, shape) -> tuple:
    """The answer a student who made slip ``name`` would return."""
    (dW1, dW2), inputs = expected_and_inputs(shape)
    X = inputs["X"]
    return {
        "transposed": lambda: (dW1.T.copy(), dW2.T.copy()),
        "factor_two": lambda: (dW1 / 2, dW2 / 2),
        "sign": lambda: (-dW1, -dW2),
        "swapped": lambda: (dW2, dW1),
        "scaled_by_n": lambda: (dW1 / X.shape[1], dW2 / X.shape[1]),
        "scaled_by_mn": lambda: (dW1 / X.size, dW2 / X.size),
        "zeros": lambda: (np.zeros_like(dW1), np.zeros_like(dW2)),
        "returned_inputs": lambda: (inputs["W1"].copy(), inputs["W2"].copy()),
    }[name]()


# --------------------------------------------------------------------------- the registry


def test_registered_checks_and_slips():
    assert {"allclose", "finite_difference"} <= set(CHECKS.names())
    assert set(BUILTIN_SLIPS) <= set(SLIPS.names())
    assert not set(KIT_SLIPS) & set(SLIPS.names())  # problem-specific slips live in the kit, not the engine
    assert set(KIT_SLIPS) <= set(KIT.slips.names())
    assert set(ALL_SLIPS) <= set(KIT.known("slip"))
    assert all(KIT.find_slip(name).doc for name in ALL_SLIPS)  # every slip has feedback to give
    assert KIT.find_slip("sign") is SLIPS["sign"]  # built-ins found through the kit
    assert KIT.find_loss("linear_autoencoder") is not None


def test_builtin_slips_are_worded_generically():
    """The engine's slips say nothing about a problem; the spec words them for its own."""
    assert SLIPS["sign"].doc == "Your values have the wrong sign."
    assert SLIPS["transposed"].doc == "{names} look transposed: each result must have the shape of the expected one."


def test_params_are_validated():
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="unknown slip"):
        allclose_params(diagnose=["transposd"])
    with pytest.raises(ValidationError, match="unknown slip"):
        allclose_params(diagnose=[{"transposd": "a typo with its own feedback"}])
    with pytest.raises(ValidationError, match="expected a slip name"):
        allclose_params(diagnose=[{"sign": 3}])
    with pytest.raises(ValidationError, match="unknown slip"):  # without the kit, only the built-in slips exist
        CHECKS["allclose"].params.model_validate({"diagnose": ["scaled_by_n"]})
    with pytest.raises(ValidationError):
        allclose_params(rtol=-1)
    with pytest.raises(ValidationError, match="unknown loss"):
        fd_params(loss="mse")
    with pytest.raises(ValidationError):
        fd_params(directions=0)
    with pytest.raises(ValidationError):
        fd_params(color="red")  # unknown field


def test_the_loss_and_the_kits_slips_come_from_the_kit():
    """finite_difference finds its loss, and allclose the kit's own slips, through CaseData.kit."""
    from dataclasses import replace

    (dW1, dW2), _ = expected_and_inputs()
    with pytest.raises(KeyError, match="no loss 'linear_autoencoder'"):
        finite_difference(replace(case_data((dW1, dW2)), kit=None))
    X = make_case(*SHAPES[0])[1]["X"]
    data = case_data((dW1 / X.shape[1], dW2 / X.shape[1]))
    assert allclose(data).diagnosis == "scaled_by_n"


# --------------------------------------------------------------------------- correct answers


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "m{}n{}k{}s{}".format(*s))
def test_reference_answer_passes_both_checks(shape):
    (dW1, dW2), inputs = expected_and_inputs(shape)
    assert dW1.shape == inputs["W1"].shape and dW2.shape == inputs["W2"].shape
    data = case_data((dW1, dW2), shape)
    verdict = allclose(data)
    assert verdict.passed and verdict.diagnosis is None
    assert "matches the reference" in verdict.feedback
    assert finite_difference(data).passed


def test_independent_autograd_answer_passes():
    """Gradients computed by torch autograd (not by the reference) pass, converted as the sandbox converts them."""
    shape = SHAPES[0]
    _, inputs = make_case(*shape)
    X = torch.from_numpy(inputs["X"])
    W1 = torch.from_numpy(inputs["W1"]).requires_grad_()
    W2 = torch.from_numpy(inputs["W2"]).requires_grad_()
    loss = ((X - W2 @ W1 @ X) ** 2).sum()
    loss.backward()
    value = tuple(t.grad.detach().cpu().resolve_conj().resolve_neg().numpy() for t in (W1, W2))
    assert all(isinstance(v, np.ndarray) and v.dtype == np.float64 for v in value)
    data = case_data(value, shape)
    assert allclose(data).passed
    assert finite_difference(data).passed


def test_torch_tensors_pass():
    (dW1, dW2), _ = expected_and_inputs()
    data = case_data((torch.from_numpy(dW1.copy()), torch.from_numpy(dW2.copy())))
    assert allclose(data).passed
    assert finite_difference(data).passed


def test_nested_lists_and_a_list_instead_of_a_tuple_pass():
    (dW1, dW2), _ = expected_and_inputs()
    data = case_data([dW1.tolist(), dW2.tolist()])
    assert allclose(data).passed
    assert finite_difference(data).passed


def test_tiny_rounding_passes_but_a_visible_error_fails():
    (dW1, dW2), _ = expected_and_inputs()
    assert allclose(case_data((dW1 * (1 + 1e-9), dW2 * (1 - 1e-9)))).passed
    verdict = allclose(case_data((dW1 * (1 + 1e-3), dW2)))
    assert not verdict.passed and verdict.diagnosis is None
    assert "dW1 differs from the expected value" in verdict.feedback


def _float32_answer(shape=SHAPES[0]):
    """The reference computed in float32 throughout (inputs cast, result float32)."""
    _, inputs = make_case(*shape)
    return reference(**{k: np.asarray(v, np.float32) for k, v in inputs.items()})


def test_a_float32_answer_is_judged_by_float32_precision_where_the_spec_allows_it():
    dW1, dW2 = _float32_answer()
    assert dW1.dtype == np.float32
    assert allclose(case_data((dW1, dW2)), rtol=1e-5).passed  # the shipped spec's tolerance
    assert allclose(case_data((torch.from_numpy(dW1), torch.from_numpy(dW2))), rtol=1e-5).passed


def test_a_float32_answer_to_a_float64_check_is_told_why_it_fails():
    dW1, dW2 = _float32_answer()
    verdict = allclose(case_data((dW1, dW2)), rtol=1e-9, atol=0.0)
    assert not verdict.passed and verdict.diagnosis == "precision"
    assert "is float32, whose rounding" in verdict.feedback and "compute in float64" in verdict.feedback
    # computed in float32 and handed back as float64: the width is lost, the size of the error still tells
    verdict = allclose(case_data((dW1.astype(np.float64), dW2.astype(np.float64))), rtol=1e-9, atol=0.0)
    assert not verdict.passed and verdict.diagnosis == "precision"
    assert "computed in float32 somewhere?" in verdict.feedback and "expects float64 precision" in verdict.feedback


def test_a_real_mistake_is_never_put_down_to_rounding():
    (dW1, dW2), _ = expected_and_inputs()
    for tolerance in (1e-9, 1e-5):  # a float64 check and a float32 one
        verdict = allclose(case_data(((dW1 * (1 + 1e-2)).astype(np.float32), dW2)), rtol=tolerance)
        assert not verdict.passed and verdict.diagnosis is None and "rounding" not in verdict.feedback
    # an error float32 rounding could cause, on a check that accepts float32: beyond its rounding, so no excuse
    verdict = allclose(case_data(((dW1 * (1 + 3e-5)).astype(np.float32), dW2)), rtol=1e-5)
    assert not verdict.passed and "rounding" not in verdict.feedback


def test_a_big_error_in_a_narrow_width_is_not_put_down_to_rounding():
    dW1, dW2 = _float32_answer()
    for wrong in (dW1 * 1.3, dW1 * 1.07):  # 30% and 7% off, in float16: mistakes, not rounding
        verdict = allclose(case_data((wrong.astype(np.float16), dW2.astype(np.float16))), rtol=1e-5)
        assert not verdict.passed and verdict.diagnosis != "precision" and "rounding" not in verdict.feedback


def test_float16_answers_are_told_to_widen():
    dW1, dW2 = _float32_answer()
    verdict = allclose(case_data((dW1.astype(np.float16), dW2.astype(np.float16))), rtol=1e-5)
    assert not verdict.passed and verdict.diagnosis == "precision"
    assert "is float16" in verdict.feedback and "compute in float32 or float64" in verdict.feedback
    verdict = finite_difference(case_data((dW1.astype(np.float16), dW2.astype(np.float16))))
    assert not verdict.passed and verdict.diagnosis == "precision" and "check the derivation" not in verdict.feedback
    assert finite_difference(case_data((dW1, dW2))).passed  # float32 passes finite differences


def _pca_case(m=8, n=30, k=3, seed=0):
    problem = next(p for p in ASSIGNMENT.problems if p.id == "pca-optimality")
    case = Case("c", "pca_autoencoder", "pca_data", {"m": m, "n": n, "k": k}, seed, Visibility.PUBLIC)
    entry = EntryPoint("pca_autoencoder", ("X", "k"), ("W1", "W2"))
    return problem, case, entry, build_inputs(problem, case)


def _subspace(value, atol, inputs, case, entry):
    params = CHECKS["subspace_projector"].params.model_validate(
        {"right": "W1", "left": "W2", "data": "X", "dim": "k", "atol": atol}, context=CONTEXT)
    return CHECKS["subspace_projector"].func(CaseData(case, entry, inputs, {}, value, kit=KIT), params)


def test_pca_in_float32_torch_earns_the_subspace_and_a_float64_check_says_why_not():
    _, case, entry, inputs = _pca_case()
    U, _, _ = torch.linalg.svd(torch.from_numpy(inputs["X"]).float())
    W2 = U[:, :inputs["k"]].numpy()  # a returned tensor arrives as an array of its dtype
    assert _subspace((W2.T, W2), 1e-4, inputs, case, entry).passed  # the shipped spec's tolerance
    verdict = _subspace((W2.T, W2), 1e-9, inputs, case, entry)
    assert not verdict.passed and verdict.diagnosis == "precision" and "is float32" in verdict.feedback
    wrong = U[:, 1:inputs["k"] + 1].numpy()  # a wrong subspace is far from any tolerance: no talk of rounding
    verdict = _subspace((wrong.T, wrong), 1e-9, inputs, case, entry)
    assert not verdict.passed and verdict.diagnosis is None and "rounding" not in verdict.feedback


def test_outputs_param_restricts_the_comparison():
    (dW1, dW2), _ = expected_and_inputs()
    data = case_data((dW1, dW2 + 1.0))
    assert allclose(data, outputs=["dW1"]).passed
    verdict = allclose(data, outputs=["dW2"])
    assert not verdict.passed and verdict.feedback.startswith("dW2 differs")


# --------------------------------------------------------------------------- slips


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "m{}n{}k{}s{}".format(*s))
@pytest.mark.parametrize("slip", ALL_SLIPS)
def test_each_slip_is_named_by_allclose(slip, shape):
    data = case_data(slipped(slip, shape), shape)
    verdict = allclose(data)
    assert not verdict.passed
    assert verdict.diagnosis == slip
    assert verdict.feedback == KIT.find_slip(slip).doc.replace("{names}", "dW1 and dW2")


@pytest.mark.parametrize("slip", ALL_SLIPS)
def test_the_spec_words_each_slip_for_its_problem(slip):
    """The spec's own wording (``{name: feedback}`` in ``diagnose``) replaces the slip's, {names} filled in."""
    data = case_data(slipped(slip, SHAPES[0]))
    verdict = allclose(data, diagnose=[{slip: "In this problem, {names} are off."}])
    assert verdict.diagnosis == slip and verdict.feedback == "In this problem, dW1 and dW2 are off."
    spec = next(c for c in PROBLEM.checks if c.check == "allclose")
    refs = {r.name: r for r in spec.params.diagnose}
    assert all(isinstance(r, SlipRef) for r in refs.values())
    verdict = CHECKS["allclose"].func(data, spec.params)
    assert verdict.diagnosis == slip
    own = refs[slip].feedback if refs[slip].feedback is not None else KIT.find_slip(slip).doc
    assert verdict.feedback == own.replace("{names}", "dW1 and dW2")
    if slip == "sign":  # the spec says why, for this problem
        assert "the residual X - W2 W1 X enters the gradient with a minus sign" in verdict.feedback
    if slip == "transposed":
        assert "dL/dW1 is k x m, like W1" in verdict.feedback


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "m{}n{}k{}s{}".format(*s))
@pytest.mark.parametrize("slip", ALL_SLIPS)
def test_each_slip_fails_finite_differences(slip, shape):
    data = case_data(slipped(slip, shape), shape)
    assert outcome(finite_difference, data) is Status.FAILED


@pytest.mark.parametrize("slip", ["transposed", "swapped"])
def test_wrong_shapes_are_reported_by_finite_differences(slip):
    data = case_data(slipped(slip, SHAPES[0]))
    with pytest.raises(AnswerError, match=r"dW1 has shape \(8, 3\); expected \(3, 8\)") as info:
        finite_difference(data)
    assert info.value.status is Status.FAILED


def test_slips_are_only_named_when_listed():
    data = case_data(slipped("factor_two", SHAPES[0]))
    verdict = allclose(data, diagnose=[])
    assert not verdict.passed and verdict.diagnosis is None
    assert "relative error 0.5" in verdict.feedback
    # a wrong shape that no listed slip explains is an AnswerError naming the shape
    with pytest.raises(AnswerError, match=r"dW1 has shape \(8, 3\); expected \(3, 8\)") as info:
        allclose(case_data(slipped("transposed", SHAPES[0])), diagnose=["sign"])
    assert info.value.status is Status.FAILED


def test_diagnosis_follows_the_listed_order():
    data = case_data(slipped("sign", SHAPES[0]))
    assert allclose(data, diagnose=["zeros", "sign", "factor_two"]).diagnosis == "sign"
    assert allclose(data, diagnose=["zeros", "factor_two"]).diagnosis is None


def test_one_transposed_gradient_is_still_named():
    (dW1, dW2), _ = expected_and_inputs()
    verdict = allclose(case_data((dW1.T.copy(), dW2)))
    assert verdict.diagnosis == "transposed"


def test_a_slip_in_one_output_only_is_not_a_whole_answer_slip():
    (dW1, dW2), _ = expected_and_inputs()
    verdict = allclose(case_data((-dW1, dW2)))
    assert not verdict.passed and verdict.diagnosis is None


# --------------------------------------------------------------------------- values that are not answers


@pytest.mark.parametrize("value", [lambda e: (e[0],), lambda e: (e[0], e[1], e[1]), lambda e: [e[0]]])
def test_wrong_number_of_values_is_an_error(value):
    expected, _ = expected_and_inputs()
    data = case_data(value(expected))
    for check in (allclose, finite_difference):
        with pytest.raises(AnswerError, match=r"expected 2 values \(dW1, dW2\), got a (tuple|list) of \d values") as info:
            check(data)
        assert info.value.status is Status.ERROR


@pytest.mark.parametrize("value, shown", [("dW1, dW2", "str"), (None, "None"), (3.5, "float"),
                                          ({"dW1": 1, "dW2": 2}, "dict")])
def test_a_non_tuple_is_an_error(value, shown):
    with pytest.raises(AnswerError, match=rf"expected 2 values \(dW1, dW2\), got a {shown}") as info:
        allclose(case_data(value))
    assert info.value.status is Status.ERROR


@pytest.mark.parametrize("bad", ["dW1", None, {"a": 1}, True])
def test_an_entry_that_is_not_an_array_is_an_error(bad):
    (_, dW2), _ = expected_and_inputs()
    for check in (allclose, finite_difference):
        with pytest.raises(AnswerError, match="dW1 should be an array") as info:
            check(case_data((bad, dW2)))
        assert info.value.status is Status.ERROR


def test_ragged_lists_are_an_error():
    (dW1, dW2), _ = expected_and_inputs()
    ragged = [[1.0, 2.0], [3.0]]
    with pytest.raises(AnswerError, match="dW1 could not be read as an array of numbers") as info:
        allclose(case_data((ragged, dW2)))
    assert info.value.status is Status.ERROR


def test_complex_arrays_fail():
    (dW1, dW2), _ = expected_and_inputs()
    with pytest.raises(AnswerError, match="complex") as info:
        allclose(case_data((dW1.astype(complex), dW2)))
    assert info.value.status is Status.FAILED


@pytest.mark.parametrize("poison", [math.nan, math.inf])
def test_nan_entries_fail_with_a_message(poison):
    (dW1, dW2), _ = expected_and_inputs()
    dW1 = dW1.copy()
    dW1[1, 2] = poison
    data = case_data((dW1, dW2))
    for check in (allclose, finite_difference):
        with pytest.raises(AnswerError, match="dW1 contains 1 NaN or infinite entries") as info:
            check(data)
        assert info.value.status is Status.FAILED


def test_all_nan_fails_too():
    (dW1, dW2), _ = expected_and_inputs()
    data = case_data((np.full_like(dW1, np.nan), np.full_like(dW2, np.nan)))
    with pytest.raises(AnswerError, match="NaN"):
        allclose(data)
    with pytest.raises(AnswerError, match="NaN"):
        finite_difference(data)


# --------------------------------------------------------------------------- finite differences alone


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "m{}n{}k{}s{}".format(*s))
@pytest.mark.parametrize("which", ["dW1", "dW2"])
def test_finite_differences_catch_one_wrong_entry_without_the_reference(shape, which):
    (dW1, dW2), _ = expected_and_inputs(shape)
    grads = {"dW1": dW1.copy(), "dW2": dW2.copy()}
    wrong = grads[which]
    wrong[(0,) * wrong.ndim] += 0.05 * np.linalg.norm(wrong)  # one entry off by 5% of the whole gradient
    # no expected values at all: this check must not need the reference
    data = case_data((grads["dW1"], grads["dW2"]), shape, expected={})
    verdict = finite_difference(data)
    assert not verdict.passed
    assert "disagree with finite differences" in verdict.feedback
    correct = case_data((dW1, dW2), shape, expected={})
    assert finite_difference(correct).passed


def test_finite_differences_measure_only_the_listed_inputs():
    (dW1, dW2), _ = expected_and_inputs()
    data = case_data((dW1, np.zeros_like(dW2)), expected={})
    assert finite_difference(data, wrt={"W1": "dW1"}).passed
    assert not finite_difference(data, wrt={"W2": "dW2"}).passed


def test_finite_differences_are_deterministic():
    (dW1, dW2), _ = expected_and_inputs()
    data = case_data((dW1 * 1.01, dW2), expected={})
    first, second = finite_difference(data), finite_difference(data)
    assert not first.passed and first == second


# --------------------------------------------------------------------------- tolerance


@pytest.mark.parametrize("rtol, atol", [(-1, 0), (0, -1e-9), (math.nan, 0), (1e-6, math.nan), (math.inf, 0), ("1e-6", 0), (None, 0)])
def test_bad_tolerances_are_refused(rtol, atol):
    with pytest.raises(ValueError, match="must be a finite, non-negative number"):
        Tolerance(rtol=rtol, atol=atol)


def test_tolerance_is_normwise():
    tol = Tolerance(rtol=1e-3, atol=0)
    expected = np.array([[1000.0, 0.0], [0.0, 0.0]])
    # a large relative error in a small entry passes when it is small against the whole norm...
    assert tol.matches(expected + np.array([[0.0, 0.5], [0.0, 0.0]]), expected)
    # ...and a single entry off by more than the norm allows fails
    assert not tol.matches(expected + np.array([[0.0, 2.0], [0.0, 0.0]]), expected)
    assert tol.error(expected * 1.5, expected) == pytest.approx(0.5)
    assert Tolerance(0, 1e-9).error(np.ones(3), np.zeros(3)) == pytest.approx(math.sqrt(3))  # absolute at zero


def test_tolerance_rejects_wrong_shapes_and_non_finite_values():
    tol = Tolerance(rtol=1.0, atol=1.0)  # very loose, so only shape and finiteness can fail
    expected = np.ones((2, 3))
    assert tol.matches(expected, expected)
    assert not tol.matches(np.ones((3, 2)), expected)
    assert not tol.matches(np.ones(6), expected)
    bad = expected.copy()
    bad[0, 0] = np.nan
    assert not tol.matches(bad, expected)
    bad[0, 0] = np.inf
    assert not tol.matches(bad, expected)
    # even a tolerance that accepts nearly any finite answer refuses a non-finite one
    anything = Tolerance(rtol=0, atol=1e300)
    assert anything.matches(expected * 1e100, expected)
    assert not anything.matches(bad, expected)


def test_a_bfloat16_tensor_is_judged_by_its_values(bwrap_available):
    """numpy has no bfloat16: the sandbox sends such a tensor as float32 (exactly), and the check judges its values
    (bfloat16 keeps about 3 significant digits: wrong here, with the error measured, not a type error)."""
    from grader.grading import ALL, RunOptions, grade_problem
    from grader.reference import CaseBook
    from grader.submissions import SourceFile

    source = ("import torch\n\n"
              "def linear_ae_gradients(X, W1, W2):\n"
              "    X, W1, W2 = (torch.from_numpy(a).to(torch.bfloat16) for a in (X, W1, W2))\n"
              "    E = X - W2 @ W1 @ X\n"
              "    return -2 * W2.T @ E @ X.T, -2 * E @ X.T @ W1.T\n")
    result = grade_problem(PROBLEM, SourceFile(source, "solution.py"), CaseBook(),
                           RunOptions(ALL, "auto", (ROOT / "problems",), None))
    lost = [c for c in result.checks if c.status is not Status.PASSED]
    assert lost and all(c.status is Status.FAILED for c in lost), [(c.status, c.feedback) for c in lost]
    assert any("relative error" in c.feedback for c in lost)
